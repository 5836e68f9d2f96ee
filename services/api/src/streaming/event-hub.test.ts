import { createRedisFixture } from '@threadwork/test-utils'
import type { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { type HubSubscription, type LiveEntry, compareIds, createEventHub } from './event-hub.js'

async function setup(opts: { maxStreamsPerReader?: number; highWater?: number; blockMs?: number } = {}) {
  const fx = await createRedisFixture('hub')
  const conns: Redis[] = []
  const hub = createEventHub({
    redis: fx.redis,
    connect: () => {
      const c = fx.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
      conns.push(c)
      return c
    },
    wakeKey: (group, reader) => `${fx.prefix}:{s${group}}:wake:${reader}`,
    ...opts,
  })
  onTestFinished(async () => {
    hub.close()
    for (const c of conns) c.disconnect()
    await fx.cleanup()
  })
  const key = (i: number) => `${fx.prefix}:{s0}:run:${i}:events`
  const add = (k: string, event: string, data = '{}', fence?: number) =>
    fence === undefined ? fx.redis.xadd(k, '*', 'event', event, 'data', data) : fx.redis.xadd(k, '*', 'event', event, 'data', data, 'fence', fence)
  return { fx, hub, key, add, conns }
}

/** Reads from `sub` until `n` entries arrived (or `timeoutMs` passed). */
async function readN(sub: HubSubscription, n: number, timeoutMs = 5000): Promise<LiveEntry[]> {
  const out: LiveEntry[] = []
  const deadline = Date.now() + timeoutMs
  while (out.length < n) {
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`only ${out.length} of ${n} entries arrived`)
    const got = await Promise.race([sub.next(), new Promise<'t'>((r) => setTimeout(() => r('t'), left))])
    if (got === 't' || got === null) throw new Error(`only ${out.length} of ${n} entries arrived`)
    out.push(...got)
  }
  return out
}

describe('event hub', () => {
  it("sends the next XREAD only after the subscribers' continuations (and their nextTicks) have run", async () => {
    const { hub, key, add, conns } = await setup()
    const log: string[] = []
    const sub = hub.subscribe(key(1), 0, '0-0')
    // The reader's connection exists once its first XREAD was sent; its later sends are logged.
    // On a busy machine that first XREAD may go out after the patch below and be the one that
    // returns the entry: only what follows the delivery is the rule's business.
    await vi.waitFor(() => expect(conns).toHaveLength(1))
    const conn = conns[0]!
    const xread = conn.xread.bind(conn) as (...args: unknown[]) => unknown
    ;(conn as unknown as { xread: (...args: unknown[]) => unknown }).xread = (...args) => {
      log.push('xread')
      return xread(...args)
    }
    const got = sub.next()
    await add(key(1), 'thread.message.delta')
    await got
    log.push('delivered')
    // A relay's write goes out on nextTick (node's http uncork): still before the next XREAD.
    await new Promise<void>((r) => process.nextTick(r))
    log.push('written')
    const afterDelivery = () => log.slice(log.indexOf('delivered'))
    await vi.waitFor(() => expect(afterDelivery()).toContain('xread'), { timeout: 5000 })
    expect(afterDelivery()).toEqual(['delivered', 'written', 'xread'])
  })

  it('delivers entries already in the stream, then new ones, with their fields', async () => {
    const { hub, key, add } = await setup()
    await add(key(1), 'thread.run.created', '{"a":1}')
    const sub = hub.subscribe(key(1), 0, '0-0')
    const first = await readN(sub, 1)
    expect(first[0]).toMatchObject({ event: 'thread.run.created', data: '{"a":1}', fence: null })
    await add(key(1), 'thread.message.delta', '{"b":2}', 7)
    const second = await readN(sub, 1)
    expect(second[0]).toMatchObject({ event: 'thread.message.delta', data: '{"b":2}', fence: 7 })
    expect(compareIds(second[0]!.id, first[0]!.id)).toBe(1)
  })

  it('starts after `from`, exclusive', async () => {
    const { hub, key, add } = await setup()
    await add(key(1), 'a')
    const mid = (await add(key(1), 'b')) as string
    await add(key(1), 'c')
    const got = await readN(hub.subscribe(key(1), 0, mid), 1)
    expect(got.map((e) => e.event)).toEqual(['c'])
  })

  it('a subscriber joining while the reader blocks is served at once (wake stream), not after BLOCK', async () => {
    const { hub, key, add } = await setup({ blockMs: 20_000 })
    const first = hub.subscribe(key(1), 0, '0-0')
    const pending = first.next()
    await new Promise((r) => setTimeout(r, 100)) // the reader is now blocked on key 1 only
    await add(key(2), 'x')
    const started = Date.now()
    await readN(hub.subscribe(key(2), 0, '0-0'), 1)
    // Well before the 20 s BLOCK ends; loose for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000)
    first.close()
    expect(await pending).toBeNull()
  })

  it('serves 600 streams over ceil(600 / 256) = 3 connections, each subscriber getting only its own', async () => {
    const { hub, key, add, conns } = await setup({ maxStreamsPerReader: 256 })
    const subs = Array.from({ length: 600 }, (_, i) => hub.subscribe(key(i), 0, '0-0'))
    await Promise.all(subs.map((_, i) => add(key(i), `e${i}`)))
    const got = await Promise.all(subs.map((s) => readN(s, 1)))
    expect(got.map((g) => g[0]!.event)).toEqual(subs.map((_, i) => `e${i}`))
    expect(hub.stats()).toEqual({ readers: 3, streams: 600 })
    expect(conns).toHaveLength(3)
    for (const s of subs) s.close()
    // Spare readers go away with their last stream; one stays for the group.
    expect(hub.stats()).toEqual({ readers: 1, streams: 0 })
  })

  it('two subscribers of one stream at different places each get their own entries', async () => {
    const { hub, key, add } = await setup()
    await add(key(1), 'a')
    const mid = (await add(key(1), 'b')) as string
    const all = hub.subscribe(key(1), 0, '0-0')
    const late = hub.subscribe(key(1), 0, mid)
    await add(key(1), 'c')
    expect((await readN(all, 3)).map((e) => e.event)).toEqual(['a', 'b', 'c'])
    expect((await readN(late, 1)).map((e) => e.event)).toEqual(['c'])
  })

  it('a subscriber that stops reading is paused at the high-water mark and later gets every entry in order', async () => {
    const { hub, key, fx } = await setup({ highWater: 100 })
    const sub = hub.subscribe(key(1), 0, '0-0')
    const total = 3000
    for (let i = 0; i < total; i += 500) {
      const p = fx.redis.pipeline()
      for (let j = i; j < i + 500; j++) p.xadd(key(1), '*', 'event', `e${j}`, 'data', '{}')
      await p.exec()
    }
    await new Promise((r) => setTimeout(r, 200))
    const got = await readN(sub, total)
    expect(got.map((e) => e.event)).toEqual(Array.from({ length: total }, (_, i) => `e${i}`))
  })

  it('close() ends every subscription', async () => {
    const { hub, key } = await setup()
    const sub = hub.subscribe(key(1), 0, '0-0')
    const next = sub.next()
    hub.close()
    expect(await next).toBeNull()
    expect(await hub.subscribe(key(2), 0, '0-0').next()).toBeNull()
  })
})

describe('compareIds', () => {
  it('orders by time, then sequence, numerically', () => {
    expect(compareIds('10-0', '9-5')).toBe(1)
    expect(compareIds('10-2', '10-10')).toBe(-1)
    expect(compareIds('0-0', '0')).toBe(0)
  })
})
