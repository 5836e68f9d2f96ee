import type { Redis } from 'ioredis'

/**
 * Where sandbox hosts and sessions are recorded in Redis. Every key holds one value, so Redis
 * Cluster needs no hash tags here.
 *
 * - `<prefix>:sandbox:hosts`       sorted set: host base URL → last heartbeat (ms since epoch)
 * - `<prefix>:sandbox:load`        hash: host base URL → live sessions on it
 * - `<prefix>:sandbox:session:<k>` string: the host URL session k lives on (TTL)
 * - `<prefix>:sandbox:unavailable` string: why no sandbox runs here (set by `pnpm start` or a
 *                                   host that failed its self-check), for the client's error
 */
export const sandboxKeys = (prefix: string) => ({
  hosts: `${prefix}:sandbox:hosts`,
  load: `${prefix}:sandbox:load`,
  session: (sessionKey: string) => `${prefix}:sandbox:session:${sessionKey}`,
  unavailable: `${prefix}:sandbox:unavailable`,
})

/** A host is live while its last heartbeat is younger than this (3 missed 5 s beats). */
export const HOST_TTL_MS = 15_000
export const HEARTBEAT_MS = 5_000

/** Live hosts and their session counts. */
export async function liveHosts(redis: Redis, prefix: string, now = Date.now()): Promise<{ url: string; sessions: number }[]> {
  const keys = sandboxKeys(prefix)
  const urls = await redis.zrangebyscore(keys.hosts, now - HOST_TTL_MS, '+inf')
  if (urls.length === 0) return []
  const loads = await redis.hmget(keys.load, ...urls)
  return urls.map((url, i) => ({ url, sessions: Number(loads[i] ?? 0) || 0 }))
}

/**
 * Announces a host: one heartbeat now and every {@link HEARTBEAT_MS}. `stop()` withdraws it
 * (graceful shutdown), so clients stop picking it at once.
 */
export function startHeartbeat(opts: {
  redis: Redis
  prefix: string
  url: string
  sessions: () => number
  onError?: (err: Error) => void
}): { beat(): Promise<void>; stop(): Promise<void> } {
  const keys = sandboxKeys(opts.prefix)
  const beat = async () => {
    const now = Date.now()
    await opts.redis
      .multi()
      .zadd(keys.hosts, now, opts.url)
      .hset(keys.load, opts.url, opts.sessions())
      // Forget hosts silent for an hour (crashed without withdrawing).
      .zremrangebyscore(keys.hosts, '-inf', now - 3_600_000)
      .del(keys.unavailable)
      .exec()
  }
  const timer = setInterval(() => void beat().catch((err: Error) => opts.onError?.(err)), HEARTBEAT_MS)
  timer.unref()
  return {
    beat,
    async stop() {
      clearInterval(timer)
      await opts.redis.multi().zrem(keys.hosts, opts.url).hdel(keys.load, opts.url).exec()
    },
  }
}
