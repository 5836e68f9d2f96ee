import { randomBytes } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test uses, so test files run in parallel without FLUSHALL (style §14). */
export const uniquePrefix = (label = 't'): string => `${label}${randomBytes(5).toString('hex')}`

/** Deletes every key under `prefix` (SCAN, never KEYS); on a Cluster, on every master. */
export async function deleteKeysWithPrefix(redis: Redis | Cluster, prefix: string): Promise<void> {
  const cluster = redis instanceof Cluster
  for (const node of cluster ? redis.nodes('master') : [redis as Redis]) {
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (batch.length === 0) continue
      // A Cluster node refuses a multi-key UNLINK across slots (CROSSSLOT): one key per command.
      if (cluster) await Promise.all(batch.map((key) => node.unlink(key)))
      else await node.unlink(...batch)
    } while (cursor !== '0')
  }
}

export interface RedisFixture {
  redis: Redis
  prefix: string
  url: string
  cleanup(): Promise<void>
}

/** A connection to the test Redis plus a fresh prefix; `cleanup` removes the keys and disconnects. */
export async function createRedisFixture(label?: string): Promise<RedisFixture> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  const prefix = uniquePrefix(label)
  return {
    redis,
    prefix,
    url: TEST_REDIS_URL,
    async cleanup() {
      await deleteKeysWithPrefix(redis, prefix)
      redis.disconnect()
    },
  }
}
