import { Redis } from 'ioredis'

export interface RedisOptions {
  /**
   * `request`: an HTTP request path — fail fast while Redis is down so the API answers 503 at once
   * instead of hanging (BullMQ production notes). `worker`: block and retry forever, as BullMQ
   * requires (`maxRetriesPerRequest: null`).
   */
  role: 'request' | 'worker'
  name?: string
}

export function createRedis(url: string, { role, name }: RedisOptions): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    // Reconnect quickly after a restart: 50 ms, 100 ms, … capped at 2 s.
    retryStrategy: (times) => Math.min(times * 50, 2000),
  })
}

/** Resolves once the connection is ready (rejects after `timeoutMs`). */
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Redis not ready after ${timeoutMs} ms`))
    }, timeoutMs)
    const onReady = () => {
      cleanup()
      resolve()
    }
    const cleanup = () => {
      clearTimeout(timer)
      redis.off('ready', onReady)
    }
    redis.on('ready', onReady)
  })
}
