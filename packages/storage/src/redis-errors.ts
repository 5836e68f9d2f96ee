import type { EventEmitter } from 'node:events'

/** The one-line fix printed when Redis cannot be reached. */
export const REDIS_UNREACHABLE_HINT =
  'start Redis (pnpm start does it for you when REDIS_URL is unset; or `docker compose -f infra/docker-compose.yml up -d redis`), or set REDIS_URL; retrying quietly'

/**
 * Logs a Redis connection's trouble once per outage instead of once per reconnect attempt (which
 * is every few hundred ms, for ever): the first error with the fix, then nothing until the
 * connection is ready again, which is logged once too. The client keeps retrying meanwhile.
 *
 * @param log pino-like: `warn(obj, msg)` and `info(obj, msg)`.
 */
export function logRedisTroubleOnce(
  client: Pick<EventEmitter, 'on'>,
  log: { warn: (o: object, m: string) => void; info: (o: object, m: string) => void },
  fields: Record<string, unknown> = {},
): void {
  let down = false
  client.on('error', (err: Error) => {
    if (down) return
    down = true
    log.warn({ ...fields, err: err.message }, `Redis unreachable: ${REDIS_UNREACHABLE_HINT}`)
  })
  client.on('ready', () => {
    if (!down) return
    down = false
    log.info(fields, 'Redis reachable again')
  })
}
