import { newId, newRun, nowSeconds } from '@threadwork/domain'
import { createDrainQueues } from '@threadwork/queue'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createExpireProcessor } from './expire-run.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
let queues: ReturnType<typeof createDrainQueues>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
  queues = createDrainQueues(fx.redis, stores.keys)
})
afterEach(async () => {
  await queues.close()
  await fx.cleanup()
})

/** A queued run on a new thread, created `ageSeconds` ago with a lifetime of `expiresAfter` seconds. */
async function queuedRun(ageSeconds: number, expiresAfter: number) {
  const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
  const { thread } = await stores.threads.create('p1')
  const run = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds() - ageSeconds, expiresAfterSeconds: expiresAfter })
  await stores.runs.create('p1', run)
  return run
}

describe('expiry sweep (the deadlines set)', () => {
  it('ends an overdue run nobody drives or reads, frees its thread, and forgets its deadline', async () => {
    const overdue = await queuedRun(60, 10)
    const current = await queuedRun(0, 600)
    const deadlines = stores.keys.deadlines(0)
    expect(await fx.redis.zcard(deadlines)).toBe(2)

    const looked = await createExpireProcessor(stores, queues).sweep(0)

    expect(looked).toBe(1)
    expect((await stores.runs.load(overdue.thread_id, overdue.id))?.run.status).toBe('expired')
    expect(await fx.redis.hget(stores.keys.thread(overdue.thread_id), '_active_run')).toBeNull()
    expect((await stores.runs.load(current.thread_id, current.id))?.run.status).toBe('queued')
    expect(await fx.redis.zrange(deadlines, 0, -1)).toEqual([`${current.thread_id}/${current.id}`])
  })

  it('a run that ended leaves the set at its terminal commit; a deleted one at the next sweep', async () => {
    const ended = await queuedRun(0, 600)
    await stores.runLifecycle.end(ended.thread_id, ended.id, 'cancelled')
    const deleted = await queuedRun(60, 10)
    await stores.threads.delete('p1', deleted.thread_id)
    expect(await fx.redis.zrange(stores.keys.deadlines(0), 0, -1)).toEqual([`${deleted.thread_id}/${deleted.id}`])

    expect(await createExpireProcessor(stores, queues).sweep(0)).toBe(1)
    expect(await fx.redis.zcard(stores.keys.deadlines(0))).toBe(0)
  })
})
