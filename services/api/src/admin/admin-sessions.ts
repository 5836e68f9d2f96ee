import { randomBytes } from 'node:crypto'
import type { RedisClient } from '@threadwork/storage'

/** How long a dashboard session lasts without a new sign-in. */
export const SESSION_SECONDS = 8 * 3600
/** Wrong tokens from one client address allowed per window before sign-in attempts are slowed down. */
export const FREE_FAILURES = 5
export const FAILURE_WINDOW_SECONDS = 15 * 60
const MAX_LOCK_SECONDS = 15 * 60

export type AdminSessions = ReturnType<typeof createAdminSessions>

/**
 * Dashboard sessions kept server-side: a random 256-bit id in the cookie, the session in Redis
 * with an expiry (`SESSION_SECONDS`), deleted on logout. And the sign-in throttle: after
 * `FREE_FAILURES` wrong tokens from one address within 15 min, each further try must wait
 * 2^(n-5) s (capped at 15 min) — answered 429 with `retry-after` until then.
 */
export function createAdminSessions(redis: RedisClient, prefix: string) {
  const sessionKey = (id: string) => `${prefix}:admin-session:${id}`
  const failKey = (client: string) => `${prefix}:admin-login-fail:${client}`
  return {
    async create(): Promise<string> {
      const id = randomBytes(32).toString('base64url')
      await redis.set(sessionKey(id), String(Date.now()), 'EX', SESSION_SECONDS)
      return id
    },
    async valid(id: string | undefined): Promise<boolean> {
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return false
      return (await redis.exists(sessionKey(id))) === 1
    },
    async revoke(id: string | undefined): Promise<void> {
      if (id && /^[A-Za-z0-9_-]{43}$/.test(id)) await redis.del(sessionKey(id))
    },
    /** Seconds `client` must still wait before its next try, or 0. */
    async lockedFor(client: string): Promise<number> {
      const [count, lockedUntil] = await redis.hmget(failKey(client), 'count', 'until')
      if (Number(count ?? 0) < FREE_FAILURES) return 0
      return Math.max(0, Math.ceil((Number(lockedUntil ?? 0) - Date.now()) / 1000))
    },
    /** Records a wrong token from `client`; returns the seconds it must now wait (0 while under the free tries). */
    async failed(client: string): Promise<number> {
      const key = failKey(client)
      const count = await redis.hincrby(key, 'count', 1)
      await redis.expire(key, FAILURE_WINDOW_SECONDS)
      if (count < FREE_FAILURES) return 0
      const wait = Math.min(MAX_LOCK_SECONDS, 2 ** Math.min(count - FREE_FAILURES, 20))
      await redis.hset(key, 'until', String(Date.now() + wait * 1000))
      return wait
    },
    async succeeded(client: string): Promise<void> {
      await redis.del(failKey(client))
    },
  }
}
