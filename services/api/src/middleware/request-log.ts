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
 * Logs one line per request: the request id, the ids in the path, method, path, status and
 * duration. Never the body, the query string or headers: those may hold message content or keys.
 * `c.var.log` is the service's logger; a line about a request names its `requestId` (errors.ts).
 * Not a child logger per request: pino's `child` (bindings serialized, a logger object) was made
 * for every request to be used almost never beyond this line (issue 14).
 */
export const requestLog =
  (log: Logger): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const start = performance.now()
    c.set('log', log)
    await next()
    logRequest(log, c.get('requestId'), c.req.method, c.req.path, c.res.status, start)
  }

/** Each service logger's {@link accessLogger}, made once. */
const accessLoggers = new WeakMap<Logger, Logger>()

/**
 * The logger an access line goes through: `log`'s child without redaction, at `log`'s level, writing
 * the same bytes to the same destination. Redaction cannot change an access line: its fields are
 * ours (`requestId`, the path's ids as `threadId`…, `method`, `path`, `status`, `ms`), flat, and none
 * is named as a redacted path is (logger/src/index.ts: `authorization`, `apiKey`, `secret`,
 * `signing_secret`, or those under a parent); values are never redacted by content. Yet with a
 * `*.x` path pino runs the wildcard redactor on every value of every line: 6-10 µs of a 9-15 µs
 * access line in-process, 2-3× that before the JIT has optimized it (issue 14).
 */
export function accessLogger(log: Logger): Logger {
  let access = accessLoggers.get(log)
  if (!access) {
    access = log.child({}, { redact: [] })
    accessLoggers.set(log, access)
  }
  // Made without a level of its own, a pino child reads its parent's (its prototype): a later
  // change of the service's level holds for access lines too (request-log.test.ts).
  return access
}

/** The access line of one request (`start`: `performance.now()` when it began); the fast path (fast-path/) writes it too. */
export function logRequest(service: Logger, requestId: string, method: string, path: string, status: number, start: number): void {
  const log = accessLogger(service)
  const fields = {
    requestId,
    ...idsInPath(path),
    method,
    path,
    status,
    ms: Math.round((performance.now() - start) * 10) / 10,
  }
  if (status >= 500) log.warn(fields, 'request failed')
  else if (path === '/healthz' || path === '/readyz' || path === '/metrics') log.debug(fields, 'request')
  else log.info(fields, 'request')
}
