import type { EventEmitter } from 'node:events'

/** The one-line fix printed when Redis cannot be reached. */
export const REDIS_UNREACHABLE_HINT =
  'start Redis (pnpm start does it for you when REDIS_URL is unset; or `docker compose -f infra/docker-compose.yml up -d redis`), or set REDIS_URL; retrying quietly'

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE'])

/**
 * Whether `err` is a lost or refused Redis connection (a socket error code, or ioredis's
 * "Connection is closed."), as opposed to a failing command or script. BullMQ re-emits its
 * connection's errors on the Worker/Queue: those are logged once per outage on the connection
 * (logRedisTroubleOnce), so a Worker's `error` listener skips them.
 */
export function isRedisConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true
  return typeof e?.message === 'string' && /^Connection is closed\.?$|^connect (ECONNREFUSED|ETIMEDOUT)/.test(e.message)
}

type TroubleLog = { warn: (o: object, m: string) => void; info: (o: object, m: string) => void }

/** The connections currently down, per logger: a process's connections to one Redis share an outage. */
const downByLog = new WeakMap<TroubleLog, Set<object>>()

/**
 * Logs Redis trouble once per outage instead of once per reconnect attempt (which is every few
 * hundred ms, for ever): the first error with the fix, then nothing until the connection is ready
 * again, which is logged once too. The client keeps retrying meanwhile. Connections registered
 * with the same `log` share the outage: while any of them is down, the others' errors add no line,
 * and "reachable again" is logged when the last one is back (a process opens several connections,
 * e.g. BullMQ's blocking ones, and Redis being down is one fact).
 *
 * @param log pino-like: `warn(obj, msg)` and `info(obj, msg)`.
 */
export function logRedisTroubleOnce(client: Pick<EventEmitter, 'on'>, log: TroubleLog, fields: Record<string, unknown> = {}): void {
  let down = downByLog.get(log)
  if (!down) downByLog.set(log, (down = new Set()))
  const set = down
  client.on('error', (err: Error) => {
    if (set.has(client)) return
    set.add(client)
    if (set.size === 1) log.warn({ ...fields, err: err.message }, `Redis unreachable: ${REDIS_UNREACHABLE_HINT}`)
  })
  client.on('ready', () => {
    if (!set.delete(client)) return
    if (set.size === 0) log.info(fields, 'Redis reachable again')
  })
}
