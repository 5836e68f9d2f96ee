import { createDeliverySlots, keys } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFirstAttemptSlots } from './first-attempt-slots.js'

let fx: RedisFixture
let k: ReturnType<typeof keys>
beforeEach(async () => {
  fx = await createRedisFixture()
  k = keys(fx.prefix, 1)
})
afterEach(() => fx.cleanup())

const make = (o: { endpointConcurrency?: number; lingerMs?: number; leaseMs?: number } = {}) => {
  const slots = createDeliverySlots(fx.redis, k)
  return createFirstAttemptSlots({
    slots,
    consumer: 'host-1',
    projectConcurrency: 25,
    endpointConcurrency: o.endpointConcurrency ?? 10,
    attemptMs: 1_000,
    leaseMs: o.leaseMs ?? 11_000,
    lingerMs: o.lingerMs ?? 50,
    maxWaiting: 100,
  })
}
const members = (target: string) => fx.redis.zrange(k.webhookInflightTarget('proj_1', target), 0, -1)

describe('first-attempt slots', () => {
  it('keeps a slot nobody waits for a moment for the next event to the target, then gives it back', async () => {
    const s = make()
    const slots = createDeliverySlots(fx.redis, k)
    const a = await s.take('proj_1', 'callback')
    expect(a).not.toBeNull()
    expect(await members('callback')).toEqual([a!.member])
    let givenBack = 0
    const giveBack = async () => {
      givenBack++
      await slots.release('proj_1', 'callback', a!.member)
    }
    await s.done('proj_1', 'callback', a!, giveBack)
    // Taken again within the linger: the same slot, nothing asked of Redis, nothing given back.
    const b = await s.take('proj_1', 'callback')
    expect(b).toBe(a)
    await s.done('proj_1', 'callback', b!, giveBack)
    await expect.poll(() => givenBack).toBe(1)
    expect(await members('callback')).toEqual([])
  })

  it('hands a slot on to an attempt waiting here when this process holds all of the target', async () => {
    const s = make({ endpointConcurrency: 1 })
    const a = await s.take('proj_1', 'callback')
    const waiter = s.take('proj_1', 'callback')
    let settled = false
    void waiter.then(() => (settled = true))
    await new Promise((r) => setTimeout(r, 30))
    expect(settled).toBe(false)
    await s.done('proj_1', 'callback', a!, async () => expect.fail('handed on, not given back'))
    expect(await waiter).toBe(a)
    expect(await members('callback')).toEqual([a!.member])
  })

  it('renews a handed-on slot whose lease could run out during the next attempt; a gone one makes the waiter take its own', async () => {
    const s = make({ endpointConcurrency: 1, leaseMs: 5_500 })
    const a = (await s.take('proj_1', 'callback'))!
    const before = Number(await fx.redis.zscore(k.webhookInflightTarget('proj_1', 'callback'), a.member))
    // 5.5 s of lease is less than one attempt (1 s) + the margin (5 s) beyond now + a bit: renewed.
    a.leaseUntil = Date.now() + 5_000
    const waiter = s.take('proj_1', 'callback')
    await new Promise((r) => setTimeout(r, 10))
    await s.done('proj_1', 'callback', a, async () => undefined)
    expect(await waiter).toBe(a)
    expect(Number(await fx.redis.zscore(k.webhookInflightTarget('proj_1', 'callback'), a.member))).toBeGreaterThan(before)
    expect(await fx.redis.pttl(k.webhookInflightTarget('proj_1', 'callback'))).toBeGreaterThan(5_000)

    // Its lease gone from Redis (e.g. this process stalled past it): the waiter acquires a slot of its own.
    await fx.redis.del(k.webhookInflight('proj_1'), k.webhookInflightTarget('proj_1', 'callback'))
    a.leaseUntil = 0
    const next = s.take('proj_1', 'callback')
    await new Promise((r) => setTimeout(r, 10))
    await s.done('proj_1', 'callback', a, async () => undefined)
    const own = await next
    expect(own?.member).not.toBe(a.member)
    expect(await members('callback')).toEqual([own!.member])
  })

  it('takes at the same moment ask Redis only up to the limit; the others wait in line and are handed slots', async () => {
    const slots = createDeliverySlots(fx.redis, k)
    let asked = 0
    const counting = { ...slots, acquire: (o: Parameters<typeof slots.acquire>[0]) => (asked++, slots.acquire(o)) }
    const s = createFirstAttemptSlots({
      slots: counting,
      consumer: 'host-1',
      projectConcurrency: 25,
      endpointConcurrency: 3,
      attemptMs: 1_000,
      leaseMs: 11_000,
      lingerMs: 50,
      maxWaiting: 100,
    })
    const takes = Array.from({ length: 8 }, () => s.take('proj_1', 'callback'))
    const first = (await Promise.race([Promise.all(takes.slice(0, 3)), new Promise((r) => setTimeout(r, 2_000))])) as ({ member: string } | null)[]
    expect(first.every((x) => x !== null)).toBe(true)
    expect(asked).toBe(3)
    expect(await members('callback')).toHaveLength(3)
    // Each slot handed on as attempts end: every take gets one, no more asks.
    const got = new Set<string>()
    for (const t of takes) {
      const slot = (await t)!
      got.add(slot.member)
      await s.done('proj_1', 'callback', slot, async () => slots.release('proj_1', 'callback', slot.member))
    }
    expect(asked).toBe(3)
    expect(got.size).toBe(3)
  })

  it('a take refused by a target full of others’ slots gives up its place: with none held here, the waiter behind it tries for itself', async () => {
    const slots = createDeliverySlots(fx.redis, k)
    for (let i = 0; i < 2; i++)
      expect(await slots.acquire({ project: 'proj_1', target: 'callback', member: `other#${i}`, projectLimit: 25, targetLimit: 2, leaseMs: 10_000 })).toBe(
        'taken',
      )
    const s = make({ endpointConcurrency: 2 })
    const takes = await Promise.all(Array.from({ length: 4 }, () => s.take('proj_1', 'callback')))
    expect(takes).toEqual([null, null, null, null])
    expect(s.holding('proj_1', 'callback')).toBe(0)
  })
})
