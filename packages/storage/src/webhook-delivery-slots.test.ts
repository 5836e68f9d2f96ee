import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { keys } from './keys.js'
import { createDeliverySlots } from './webhook-delivery-slots.js'

let fx: RedisFixture
let k: ReturnType<typeof keys>
beforeEach(async () => {
  fx = await createRedisFixture()
  k = keys(fx.prefix, 1)
})
afterEach(() => fx.cleanup())

describe('delivery slots', () => {
  it('releaseAndUnpark gives back only its own slot and pops the longest-parked job, one per call', async () => {
    const slots = createDeliverySlots(fx.redis, k)
    const take = (member: string, target: string) => slots.acquire({ project: 'proj_1', target, member, projectLimit: 25, targetLimit: 10, leaseMs: 60_000 })
    expect(await take('a', 'callback')).toBe('taken')
    expect(await take('b', 'callback')).toBe('taken')
    expect(await take('c', 'ep_1')).toBe('taken')
    await slots.park('proj_1', 'job_old')
    await new Promise((r) => setTimeout(r, 5))
    await slots.park('proj_1', 'job_new')

    expect(await slots.releaseAndUnpark('proj_1', 'callback', 'a')).toBe('job_old')
    expect(await fx.redis.zrange(k.webhookInflightTarget('proj_1', 'callback'), 0, -1)).toEqual(['b'])
    expect((await fx.redis.zrange(k.webhookInflight('proj_1'), 0, -1)).sort()).toEqual(['b', 'c'])
    expect(await slots.inFlight('proj_1', 'ep_1')).toBe(1)

    expect(await slots.releaseAndUnpark('proj_1', 'callback', 'b')).toBe('job_new')
    // Nothing parked any more; a member already given back changes nothing.
    expect(await slots.releaseAndUnpark('proj_1', 'callback', 'b')).toBeNull()
    expect(await fx.redis.zrange(k.webhookInflight('proj_1'), 0, -1)).toEqual(['c'])
    expect(await slots.inFlight('proj_1', 'callback')).toBe(0)
  })

  it("a release pops the job parked for its own target before the project's longest-parked one; a job that got a slot leaves the lists", async () => {
    const slots = createDeliverySlots(fx.redis, k)
    const take = (member: string, target: string) => slots.acquire({ project: 'proj_1', target, member, projectLimit: 25, targetLimit: 1, leaseMs: 60_000 })
    expect(await take('a', 'ep_a')).toBe('taken')
    expect(await take('b', 'ep_b')).toBe('taken')
    // Parked longest: a job waiting for ep_b (still full), then one for the project, then one for ep_a.
    await slots.park('proj_1', 'job_b', 'ep_b')
    await new Promise((r) => setTimeout(r, 5))
    await slots.park('proj_1', 'job_project')
    await new Promise((r) => setTimeout(r, 5))
    await slots.park('proj_1', 'job_a', 'ep_a')
    expect(await slots.isParked('proj_1', 'job_a', 'ep_a')).toBe(true)

    // ep_a's slot frees: its own waiter, not ep_b's (it would only park again) nor the project's.
    expect(await slots.releaseAndUnpark('proj_1', 'ep_a', 'a')).toBe('job_a')
    expect(await slots.isParked('proj_1', 'job_a', 'ep_a')).toBe(false)
    // Nobody waits for ep_a any more: the project's longest-parked job.
    expect(await take('a2', 'ep_a')).toBe('taken')
    expect(await slots.releaseAndUnpark('proj_1', 'ep_a', 'a2')).toBe('job_project')

    // job_b got a slot some other way (its safety wait): it leaves the lists, and a release pops nothing stale.
    await slots.unpark('proj_1', 'ep_b', 'job_b')
    expect(await slots.isParked('proj_1', 'job_b', 'ep_b')).toBe(false)
    expect(await slots.releaseAndUnpark('proj_1', 'ep_b', 'b')).toBeNull()
  })
})
