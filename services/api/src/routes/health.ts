import type { RedisClient } from '@threadwork/storage'
import { Hono } from 'hono'

/**
 * `/healthz`: the process is up. `/readyz`: Redis answers, and the process is not shutting down
 * (it turns not-ready first, so load balancers drain it before it stops accepting).
 */
export function healthRoutes(redis: RedisClient, isShuttingDown: () => boolean) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      if (isShuttingDown()) return c.json({ status: 'shutting_down' }, 503)
      try {
        await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000))])
        return c.json({ status: 'ready' })
      } catch {
        return c.json({ status: 'redis_unreachable' }, 503)
      }
    })
}
