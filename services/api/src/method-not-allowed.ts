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
      regex: new RegExp(`^${r.path.replace(/[.+?^$()[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+|\{[A-Za-z_]+\}/g, '[^/]+').replace(/\*/g, '.*')}$`),
    }))
  return {
    allowedMethods(path: string): string[] {
      return [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))]
    },
    /** Whether some route serves `method` at `path`. */
    serves(method: string, path: string): boolean {
      // Hono answers HEAD with the GET route.
      const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase()
      return patterns.some((p) => p.method === m && p.regex.test(path))
    },
  }
}
