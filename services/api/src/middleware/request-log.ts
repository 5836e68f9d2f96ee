import type { Logger } from '@threadwork/logger'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

const ID_FIELDS: Record<string, string> = {
  thread: 'threadId',
  run: 'runId',
  turn: 'turnId',
  msg: 'messageId',
  asst: 'assistantId',
  step: 'stepId',
  whe: 'webhookEndpointId',
}

/** The object ids in a request path, as log fields (`/v1/threads/thread_x/runs/run_y` → threadId, runId). */
export function idsInPath(path: string): Record<string, string> {
  const ids: Record<string, string> = {}
  for (const m of path.matchAll(/\/(thread|run|turn|msg|asst|step|whe)_([A-Za-z0-9]+)(?=\/|$)/g)) ids[ID_FIELDS[m[1]!]!] = `${m[1]}_${m[2]}`
  return ids
}

/**
 * Gives every handler a child logger carrying the request id (`c.var.log`), and logs one line per
 * request: method, path, status, duration and the ids in the path. Never the body, the query
 * string or headers: those may hold message content or keys.
 */
export const requestLog =
  (log: Logger): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const start = performance.now()
    const child = log.child({ requestId: c.var.requestId, ...idsInPath(c.req.path) })
    c.set('log', child)
    await next()
    const status = c.res.status
    const fields = { method: c.req.method, path: c.req.path, status, ms: Math.round((performance.now() - start) * 10) / 10 }
    if (status >= 500) child.warn(fields, 'request failed')
    else if (c.req.path === '/healthz' || c.req.path === '/readyz' || c.req.path === '/metrics') child.debug(fields, 'request')
    else child.info(fields, 'request')
  }
