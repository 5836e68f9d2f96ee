import type { Hono } from 'hono'

/**
 * Builds a matcher over the app's routes: which methods a path has (to answer 405 instead of
 * 404), and whether a request hits a route at all (checked before its body is read, so an
 * unknown URL is a 404 whatever the body). Paths match exactly: `/v1/assistants/` is not
 * `/v1/assistants`, and is answered 404 "Invalid URL", as OpenAI answers it.
 */
export function routeTable(app: Hono<never>) {
  const patterns = app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method.toUpperCase(),
      names: [...r.path.matchAll(/:([A-Za-z_]+)|\{([A-Za-z_]+)\}/g)].map((m) => m[1] ?? m[2]!),
      regex: new RegExp(
        `^${r.path
          .replace(/[.+?^$()[\]\\]/g, '\\$&')
          .replace(/:[A-Za-z_]+|\{[A-Za-z_]+\}/g, '([^/]+)')
          .replace(/\*/g, '.*')}$`,
      ),
      // A path without `*` matches only paths with as many slashes (a parameter is one segment).
      slashes: r.path.includes('*') ? -1 : slashesIn(r.path),
    }))
  // Every /v1 request asks (app.ts): by method, in route order, and only the routes of the path's
  // length tried (issue 14: a regex per route of the method was ~4 µs of a turn POST).
  const byMethod = new Map<string, typeof patterns>()
  for (const p of patterns) byMethod.set(p.method, [...(byMethod.get(p.method) ?? []), p])
  /** The path parameters of the first route serving `method` at `path` (decoded), or null when none does. */
  const params = (method: string, path: string): Record<string, string> | null => {
    // Hono answers HEAD with the GET route.
    const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase()
    const slashes = slashesIn(path)
    for (const p of byMethod.get(m) ?? []) {
      if (p.slashes !== slashes && p.slashes !== -1) continue
      const match = p.regex.exec(path)
      if (!match) continue
      const out: Record<string, string> = {}
      for (let i = 0; i < p.names.length; i++) out[p.names[i]!] = decodeSegment(match[i + 1] ?? '')
      return out
    }
    return null
  }
  return {
    allowedMethods(path: string): string[] {
      return [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))]
    },
    /** Whether some route serves `method` at `path`. */
    serves: (method: string, path: string): boolean => params(method, path) !== null,
    params,
  }
}

/** A path segment as the route's handler reads it (Hono decodes params); kept raw if it is not valid percent-encoding. */
function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

function slashesIn(path: string): number {
  let n = 0
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++
  return n
}
