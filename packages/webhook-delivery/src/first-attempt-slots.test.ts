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

  it('two processes sharing a target: the one holding none polls while its want is answered by the other giving one back (yieldOne), which then leaves it alone', async () => {
    const slots = createDeliverySlots(fx.redis, k)
    let asked = 0
    const counting = { ...slots, acquire: (o: Parameters<typeof slots.acquire>[0]) => (asked++, slots.acquire(o)) }
    const proc = (consumer: string, acquire = slots) =>
      createFirstAttemptSlots({ slots: acquire, consumer, projectConcurrency: 25, endpointConcurrency: 2, attemptMs: 1_000, leaseMs: 11_000, lingerMs: 10_000, maxWaiting: 100 })
    const holder = proc('direct:a')
    const other = proc('direct:b', counting)
    const release = (m: string) => async () => slots.release('proj_1', 'callback', m)
    const [a1, a2] = await Promise.all([holder.take('proj_1', 'callback'), holder.take('proj_1', 'callback')])
    // Held by the other process only: a take without `pollMs` gives up at once; with it, it polls.
    expect(await other.take('proj_1', 'callback')).toBeNull()
    asked = 0
    const polls = [other.take('proj_1', 'callback', { pollMs: 2_000 }), other.take('proj_1', 'callback', { pollMs: 2_000 })]
    await new Promise((r) => setTimeout(r, 60))
    const pollsBefore = asked
    expect(pollsBefore).toBeGreaterThan(0)
    // The holder learns of the want: its next ended attempt's slot goes back to Redis, not into its line.
    const waiterAtHolder = holder.take('proj_1', 'callback')
    holder.yieldOne('proj_1', 'callback')
    await holder.done('proj_1', 'callback', a1!, release(a1!.member))
    // One of the two gets it (whichever polled last), the other waits in line behind it.
    const got = await Promise.race(polls)
    const behind = (await Promise.race([polls[0]!.then(() => 0), new Promise((r) => setTimeout(() => r(1), 20))])) === 0 ? polls[1]! : polls[0]!
    expect(got).not.toBeNull()
    expect(got!.member.startsWith('direct:b#')).toBe(true)
    expect(holder.holding('proj_1', 'callback')).toBe(1)
    // The one behind the poller is handed its slot when that attempt ends (no more polling).
    const asks = asked
    await other.done('proj_1', 'callback', got!, release(got!.member))
    expect(await behind).toBe(got)
    expect(asked).toBe(asks)
    // The holder's own waiter gets the holder's remaining slot, not a new ask (it holds off for a while).
    await holder.done('proj_1', 'callback', a2!, release(a2!.member))
    expect(await waiterAtHolder).toBe(a2)
    // With fewer than two, a holder does not yield (its own line would have none).
    holder.yieldOne('proj_1', 'callback')
    await holder.done('proj_1', 'callback', a2!, release(a2!.member))
    expect(holder.holding('proj_1', 'callback')).toBe(1)
    await holder.close()
    await other.close()
  })

  it('after a refusal while holding some, takes wait in line without asking Redis for a while', async () => {
    const slots = createDeliverySlots(fx.redis, k)
    let asked = 0
    const counting = { ...slots, acquire: (o: Parameters<typeof slots.acquire>[0]) => (asked++, slots.acquire(o)) }
    const s = createFirstAttemptSlots({ slots: counting, consumer: 'host-1', projectConcurrency: 25, endpointConcurrency: 3, attemptMs: 1_000, leaseMs: 11_000, lingerMs: 50, maxWaiting: 100, refusedBackoffMs: 300 })
    expect(await slots.acquire({ project: 'proj_1', target: 'callback', member: 'other#1', projectLimit: 25, targetLimit: 3, leaseMs: 10_000 })).toBe('taken')
    expect(await slots.acquire({ project: 'proj_1', target: 'callback', member: 'other#2', projectLimit: 25, targetLimit: 3, leaseMs: 10_000 })).toBe('taken')
    const mine = (await s.take('proj_1', 'callback'))!
    // Full: the next take asks, is refused, and waits in line; the ones after it do not ask.
    const waiters = [s.take('proj_1', 'callback')]
    await new Promise((r) => setTimeout(r, 30))
    expect(asked).toBe(2)
    waiters.push(...Array.from({ length: 4 }, () => s.take('proj_1', 'callback')))
    await new Promise((r) => setTimeout(r, 30))
    expect(asked).toBe(2)
    for (const w of waiters) {
      await s.done('proj_1', 'callback', mine, async () => undefined)
      expect(await w).toBe(mine)
    }
    expect(asked).toBe(2)
    await s.close()
  })
})
