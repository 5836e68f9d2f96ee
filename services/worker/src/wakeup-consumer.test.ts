import { createLogger } from '@threadwork/logger'
import { DRAIN_GROUP, createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import type { DrainEnd } from './processors/drain-thread.js'
import { type WakeupConsumer, createWakeupConsumer } from './wakeup-consumer.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
const log = createLogger({ service: 'test', level: 'silent' })
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(async () => {
  await fx.cleanup()
})

/** A started consumer over the fixture's Redis; closed when the test ends. */
function consumer(drain: (threadId: string) => Promise<DrainEnd>, opts: { leaseMs?: number; consumer?: string; concurrency?: number } = {}): WakeupConsumer {
  const c = createWakeupConsumer({
    redis: fx.redis,
    connect: () => new Redis(fx.url, { maxRetriesPerRequest: null }),
    keys: stores.keys,
    wakeups: stores.wakeups,
    drain,
    concurrency: opts.concurrency ?? 4,
    leaseMs: opts.leaseMs ?? 600,
    log,
    consumer: opts.consumer,
  })
  c.start()
  onTestFinished(() => c.close())
  return c
}

const entries = () => fx.redis.xlen(stores.keys.wakeups(0))
/** Reads up to `count` unread wake-ups as consumer `name`: their entry ids. */
async function read(name: string, count = 10): Promise<string[]> {
  const reply = (await fx.redis.xreadgroup('GROUP', DRAIN_GROUP, name, 'COUNT', count, 'STREAMS', stores.keys.wakeups(0), '>')) as
    | [string, [string, string[]][]][]
    | null
  return (reply?.[0]?.[1] ?? []).map(([id]) => id)
}

describe('thread wake-ups (wakeThread / releaseThread)', () => {
  it('owes a thread one entry however often it is woken; a wake while owed makes the drain look again', async () => {
    const w = stores.wakeups
    await w.ensureGroup(0)
    expect(await w.wake('thread_a')).toBe(true)
    expect(await w.wake('thread_a')).toBe(false)
    expect(await w.wake('thread_a')).toBe(false)
    expect(await entries()).toBe(1)
    const [id] = (await read('c1')) as [string]
    // Woken while owed: the first release says look again and keeps the entry; the second lets go.
    expect(await w.release('thread_a', id, 'release')).toBe('AGAIN')
    expect(await w.release('thread_a', id, 'release')).toBe('DONE')
    expect(await fx.redis.exists(stores.keys.wake('thread_a'))).toBe(0)
    expect(((await fx.redis.xpending(stores.keys.wakeups(0), DRAIN_GROUP)) as unknown[])[0]).toBe(0)
    // Let go: the next wake adds a new entry.
    expect(await w.wake('thread_a')).toBe(true)
  })

  it('a handover acks the entry and adds a fresh one in the same step', async () => {
    const w = stores.wakeups
    await w.ensureGroup(0)
    await w.wake('thread_h')
    const [id] = (await read('c1')) as [string]
    expect(await w.release('thread_h', id, 'handover')).toBe('DONE')
    const owed = await fx.redis.get(stores.keys.wake('thread_h'))
    expect(owed).not.toBe(id)
    const unread = (await fx.redis.xreadgroup('GROUP', DRAIN_GROUP, 'c2', 'STREAMS', stores.keys.wakeups(0), '>')) as [string, [string, string[]][]][]
    expect(unread[0]![1]).toEqual([[owed, ['t', 'thread_h']]])
  })
})

describe('wake-up consumer', () => {
  it('drains each woken thread once, and again when woken during its drain (no lost wakeup)', async () => {
    const drained: string[] = []
    let release: (() => void) | null = null
    consumer(async (threadId) => {
      drained.push(threadId)
      if (threadId === 'thread_slow' && drained.filter((t) => t === threadId).length === 1) await new Promise<void>((r) => (release = r))
      return 'empty'
    })
    await stores.wakeups.wake('thread_1')
    await stores.wakeups.wake('thread_slow')
    await expect.poll(() => release !== null).toBe(true)
    // Woken while its drain runs, twice: one more drain after it, not two.
    await stores.wakeups.wake('thread_slow')
    await stores.wakeups.wake('thread_slow')
    release!()
    await expect.poll(() => drained.filter((t) => t === 'thread_slow').length).toBe(2)
    await expect.poll(() => fx.redis.exists(stores.keys.wake('thread_slow'))).toBe(0)
    expect(drained.filter((t) => t === 'thread_1')).toEqual(['thread_1'])
    expect(drained.filter((t) => t === 'thread_slow')).toHaveLength(2)
    expect(((await fx.redis.xpending(stores.keys.wakeups(0), DRAIN_GROUP)) as unknown[])[0]).toBe(0)
  })

  it("takes over a crashed worker's wake-up after its lease", async () => {
    await stores.wakeups.ensureGroup(0)
    await stores.wakeups.wake('thread_crash')
    // A worker read it and died: the entry sits unacked in its name.
    await read('dead-worker', 1)
    const drained: string[] = []
    consumer(
      async (threadId) => {
        drained.push(threadId)
        return 'empty'
      },
      { leaseMs: 600, consumer: 'live-worker' },
    )
    await expect.poll(() => drained, { timeout: 5000 }).toContain('thread_crash')
    await expect.poll(() => fx.redis.exists(stores.keys.wake('thread_crash'))).toBe(0)
  })

  it("keeps a live drain's lease renewed: another worker does not take it over", async () => {
    const drained: string[] = []
    let finish: (() => void) | null = null
    // The lease is short against the drain (it runs 2.5 leases), long against this machine's
    // scheduling delays (renewed every third).
    const leaseMs = 1800
    consumer(
      async (threadId) => {
        drained.push(threadId)
        // Ends by itself at worst, so a failed assertion never leaves the consumer's close waiting.
        await new Promise<void>((r) => {
          finish = r
          setTimeout(r, 20_000)
        })
        return 'empty'
      },
      { leaseMs, consumer: 'live-worker' },
    )
    await stores.wakeups.wake('thread_long')
    await expect.poll(() => finish !== null).toBe(true)
    const other: string[] = []
    consumer(
      async (t) => {
        other.push(t)
        return 'empty'
      },
      { leaseMs, consumer: 'other-worker' },
    )
    await new Promise((r) => setTimeout(r, leaseMs * 2.5))
    expect(other).toEqual([])
    finish!()
    await expect.poll(() => fx.redis.exists(stores.keys.wake('thread_long'))).toBe(0)
    expect(drained).toEqual(['thread_long'])
  })

  it('reaches a lapsed wake-up held behind many live ones (the takeover scan carries on where it stopped)', async () => {
    const w = stores.wakeups
    await w.ensureGroup(0)
    const key = stores.keys.wakeups(0)
    // 40 drains running elsewhere (their leases renewed), then one whose worker died.
    for (let i = 0; i < 40; i++) await w.wake(`thread_live${i}`)
    const live = await read('busy-worker', 40)
    await w.wake('thread_lost')
    await read('dead-worker', 1)
    const renew = setInterval(() => void fx.redis.xclaim(key, DRAIN_GROUP, 'busy-worker', 0, ...live, 'JUSTID').catch(() => {}), 200)
    onTestFinished(() => clearInterval(renew))
    const drained: string[] = []
    // One slot: each scan looks at 10 held entries, fewer than the live ones ahead of the lost one.
    consumer(
      async (t) => {
        drained.push(t)
        return 'empty'
      },
      { leaseMs: 1800, concurrency: 1 },
    )
    await expect.poll(() => drained, { timeout: 20_000 }).toContain('thread_lost')
    expect(drained.filter((t) => t.startsWith('thread_live'))).toEqual([])
  })

  it('retries a drain that threw, after the lease', async () => {
    let calls = 0
    consumer(async () => {
      calls++
      if (calls === 1) throw new Error('Redis went away')
      return 'empty'
    })
    await stores.wakeups.wake('thread_retry')
    await expect.poll(() => calls, { timeout: 5000 }).toBe(2)
    await expect.poll(() => fx.redis.exists(stores.keys.wake('thread_retry'))).toBe(0)
  })

  it('trims entries every consumer is done with, never one held or unread', async () => {
    const w = stores.wakeups
    await w.ensureGroup(0)
    for (const t of ['thread_x', 'thread_y', 'thread_z']) await w.wake(t)
    const key = stores.keys.wakeups(0)
    const [x, y] = (await read('c1', 2)) as [string, string]
    await w.release('thread_x', x, 'release')
    const threads = async () => (await fx.redis.xrange(key, '-', '+')).map(([, f]) => f[1])
    expect(await w.tidy(0)).toBe(1)
    expect(await threads()).toEqual(['thread_y', 'thread_z'])
    await w.release('thread_y', y, 'release')
    expect(await w.tidy(0)).toBe(1)
    // thread_z was never read: kept.
    expect(await threads()).toEqual(['thread_z'])
  })
})
