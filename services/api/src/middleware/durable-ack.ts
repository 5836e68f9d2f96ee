import { ApiError } from '@threadwork/domain'
import { type DurabilityInfo, type RedisClient, detectDurability, waitAof } from '@threadwork/storage'
import type { MiddlewareHandler } from 'hono'

export interface Durability {
  /** What the last detection found; null until Redis could be asked. */
  readonly info: DurabilityInfo | null
  /** Makes sure an accepted write is on disk (per the mode) before the 2xx goes out. */
  confirm(): Promise<void>
}

/**
 * "2xx means on disk" (infra/README.md, Persistence). Detects the Redis version and AOF settings
 * at start and after every reconnect (a failover may land on another server), then for each
 * accepted write: `waitaof` → `WAITAOF 1 0 <timeoutMs>`; `fsync-always` → nothing to wait for;
 * `everysec`/`none` → nothing can be waited for (logged as a warning at start).
 */
export function createDurability(
  redis: RedisClient,
  opts: { timeoutMs: number; onDetected?: (info: DurabilityInfo) => void; observe?: (seconds: number) => void },
): Durability {
  let info: DurabilityInfo | null = null
  let detecting: Promise<DurabilityInfo | null> | null = null
  const detect = () =>
    (detecting ??= detectDurability(redis)
      .then((found) => {
        info = found
        opts.onDetected?.(found)
        return found
      })
      .catch(() => null)
      .finally(() => {
        detecting = null
      }))
  redis.on('ready', () => void detect())
  if (redis.status === 'ready') void detect()

  return {
    get info() {
      return info
    },
    async confirm() {
      const current = info ?? (await detect())
      // Not known yet means Redis was never reachable, so the write itself failed first.
      if (current?.mode !== 'waitaof') return
      const start = performance.now()
      const ok = await waitAof(redis, opts.timeoutMs)
      opts.observe?.((performance.now() - start) / 1000)
      if (!ok) {
        throw new ApiError(503, 'The request was applied but could not be confirmed on disk in time. Please retry.', {
          type: 'server_error',
          code: 'service_unavailable',
        })
      }
    },
  }
}

/** After a successful write (any non-GET answered 2xx), waits for durability before answering. */
export const durableAck =
  (durability: Durability): MiddlewareHandler =>
  async (c, next) => {
    await next()
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.res.status < 200 || c.res.status >= 300) return
    await durability.confirm()
  }
