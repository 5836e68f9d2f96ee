import type { Hono } from 'hono'

/** Builds a matcher telling whether a path exists under another method, to answer 405 instead of 404. */
export function routeTable(app: Hono<never>) {
  const patterns = app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method.toUpperCase(),
      regex: new RegExp(`^${r.path.replace(/[.+?^$()[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+|\{[A-Za-z_]+\}/g, '[^/]+').replace(/\*/g, '.*')}/?$`),
    }))
  return {
    allowedMethods(path: string): string[] {
      return [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))]
    },
  }
}
