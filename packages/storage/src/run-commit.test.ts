import { newId, newRun, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Stores, createStores } from './stores.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

async function queuedRun() {
  const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
  const { thread } = await stores.threads.create('p1')
  const r = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
  await stores.runs.create('p1', r, [])
  return r
}

describe('commitRun-6', () => {
  it('patches an existing object and never recreates a gone one (no EXISTS: HSET tells)', async () => {
    const r = await queuedRun()
    const present = `${fx.prefix}:patch-present`
    const gone = `${fx.prefix}:patch-gone`
    await fx.redis.hset(present, 'status', '"queued"', 'other', '"kept"')
    const outcome = await stores.runs.commit(r.thread_id, r.id, {
      project: 'p1',
      from: ['queued'],
      run: { status: 'in_progress' },
      patches: [
        { key: present, fields: { status: 'completed', completed_at: 5 } },
        { key: gone, fields: { status: 'completed', completed_at: 5 } },
      ],
    })
    expect(outcome.ok).toBe(true)
    expect(await fx.redis.hgetall(present)).toEqual({ status: '"completed"', completed_at: '5', other: '"kept"' })
    expect(await fx.redis.exists(gone)).toBe(0)
  })
})
