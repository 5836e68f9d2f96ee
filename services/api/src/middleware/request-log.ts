import type { Logger } from '@threadwork/logger'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

/** The object-id prefixes logged as fields, by the field they go into. */
const ID_FIELDS = new Map<string, string>([
  ['thread', 'threadId'],
  ['run', 'runId'],
  ['turn', 'turnId'],
  ['msg', 'messageId'],
  ['asst', 'assistantId'],
  ['step', 'stepId'],
  ['whe', 'webhookEndpointId'],
])

/** The object ids in a request path, as log fields (`/v1/threads/thread_x/runs/run_y` → threadId, runId). */
export function idsInPath(path: string): Record<string, string> {
  return addIdsInPath({}, path)
}

/**
 * Adds the ids in `path` to `fields`, in path order (a repeated kind: the last one): each segment
 * after a `/` that is a known prefix, `_`, and one or more ASCII letters or digits. Read by hand, not
 * with a global regex's `matchAll` (an iterator, a match array and a regex copy per request; with
 * the spread that took its result, ~1.3 % + 2 % of the API's busy time in the cost bench, issue 14).
 */
function addIdsInPath<T extends Record<string, unknown>>(fields: T, path: string): T {
  let from = path.indexOf('/')
  while (from !== -1) {
    const start = from + 1
    const next = path.indexOf('/', start)
    const end = next === -1 ? path.length : next
    const sep = path.indexOf('_', start)
    if (sep !== -1 && sep < end - 1) {
      const field = ID_FIELDS.get(path.slice(start, sep))
      if (field !== undefined && isAlphanumeric(path, sep + 1, end)) (fields as Record<string, unknown>)[field] = path.slice(start, end)
    }
    from = next
  }
  return fields
}

/** Whether `s[from, to)` is all ASCII letters and digits. */
function isAlphanumeric(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false
  }
  return true
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
  // The same keys in the same order as `{ requestId, ...idsInPath(path), method, … }`, built in place.
  const fields: Record<string, unknown> = addIdsInPath({ requestId }, path)
  fields.method = method
  fields.path = path
  fields.status = status
  fields.ms = Math.round((performance.now() - start) * 10) / 10
  if (status >= 500) log.warn(fields, 'request failed')
  else if (path === '/healthz' || path === '/readyz' || path === '/metrics') log.debug(fields, 'request')
  else log.info(fields, 'request')
}
