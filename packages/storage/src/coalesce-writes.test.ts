import { type RedisFixture, createRedisFixture, startRedisCluster } from '@threadwork/test-utils'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { coalesceWrites } from './coalesce-writes.js'
import { createRedis, createRedisClient, waitReady } from './redis.js'
import { runScript, script } from './scripts.js'

/** Counts the syscall-level writes of `redis`'s current socket (`_write`: one chunk, `_writev`: several). */
function countWrites(redis: Redis) {
  const socket = redis.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void }
  const counts = { writes: 0 }
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name]
    socket[name] = function (this: unknown, ...a: unknown[]) {
      counts.writes++
      return original.apply(this, a)
    }
  }
  return counts
}

describe('coalesceWrites', () => {
  let fx: RedisFixture
  let redis: Redis
  beforeEach(async () => {
    fx = await createRedisFixture('coal')
    redis = createRedis(fx.url, { role: 'worker', name: 'coalesce-test', coalesceWrites: true })
    await waitReady(redis)
  })
  afterEach(async () => {
    redis.disconnect()
    await fx.cleanup()
  })

  it('sends the commands issued together in one write, replies unchanged and in order', async () => {
    const k = (i: number) => `${fx.prefix}:k${i}`
    await Promise.all(Array.from({ length: 20 }, (_, i) => fx.redis.set(k(i), `v${i}`)))
    const counts = countWrites(redis)
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.get(k(i))))
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`))
    expect(counts.writes).toBe(1)
  })

  it('keeps the order of commands, scripts defined on first use, MULTIs and pipelines issued together', async () => {
    const key = `${fx.prefix}:n`
    const counts = countWrites(redis)
    const incrBy = script('coalesceIncrBy', "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    const results = await Promise.all([
      redis.set(key, '1'),
      runScript<number>(redis, incrBy, [key], [10]),
      redis.multi().incr(key).get(key).exec(),
      redis.pipeline().incr(key).exec(),
      redis.get(key),
    ])
    expect(results[1]).toBe(11)
    expect(results[2]).toEqual([
      [null, 12],
      [null, '12'],
    ])
    expect(results[3]).toEqual([[null, 13]])
    expect(results[4]).toBe('13')
    // The first script call on a socket is an EVAL (ioredis), then the MULTI and pipeline: one write.
    expect(counts.writes).toBe(1)
  })

  it('coalesces on the new socket after a reconnect', async () => {
    const first = redis.stream
    await fx.redis.client('KILL', 'SKIPME', 'yes', 'ID', String(await redis.client('ID')))
    await expect.poll(() => redis.status === 'ready' && redis.stream !== first).toBe(true)
    const counts = countWrites(redis)
    const replies = await Promise.all(Array.from({ length: 5 }, () => redis.ping()))
    expect(replies).toEqual(['PONG', 'PONG', 'PONG', 'PONG', 'PONG'])
    expect(counts.writes).toBe(1)
  })

  it('is idempotent: hooking a connection twice sends once per command', async () => {
    coalesceWrites(redis)
    const counts = countWrites(redis)
    expect(await Promise.all([redis.ping(), redis.ping()])).toEqual(['PONG', 'PONG'])
    expect(counts.writes).toBe(1)
  })

  it('on a Cluster: each master gets one write for the commands issued together, every reply from the slot owner', async () => {
    const cluster = await startRedisCluster(3)
    const client = createRedisClient(
      { url: 'redis://127.0.0.1', clusterNodes: cluster.nodes },
      { role: 'worker', name: 'coalesce-cluster', coalesceWrites: true },
    ) as Cluster
    onTestFinished(async () => {
      client.disconnect()
      await cluster.cleanup()
    })
    await waitReady(client)
    // Hash-tagged keys over many slots, so every master owns some; written (and connected) first.
    const k = (i: number) => `${fx.prefix}:{t${i}}:v`
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.set(k(i), `v${i}`)))
    const masters = client.nodes('master')
    expect(masters).toHaveLength(3)
    const counts = masters.map((m) => countWrites(m))
    const incrBy = script('coalesceClusterIncrBy', "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    const [values, sums] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, (_, i) => client.get(k(i)))),
      Promise.all(Array.from({ length: 30 }, (_, i) => runScript<number>(client, incrBy, [`${fx.prefix}:{t${i}}:n`], [i]))),
    ])
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`))
    expect(sums).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(counts.map((c) => c.writes)).toEqual([1, 1, 1])
  }, 60_000)
})
