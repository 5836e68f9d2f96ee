import { newId, newRun, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunInternal } from './run-plans.js'
import { type Stores, createStores } from './stores.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

async function run(live: '0' | '1' | null) {
  const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
  const { thread } = await stores.threads.create('p1')
  const r = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
  await stores.runs.create('p1', r, [], live === null ? {} : { [RunInternal.live]: live })
  return r
}
const liveEvents = async (r: { thread_id: string; id: string }) =>
  ((await fx.redis.xrange(stores.keys.runEvents(r.thread_id, r.id), '-', '+')) as [string, string[]][]).map(([, f]) => f[1])

describe('live events only for runs a stream can read', () => {
  it('a streamed run (or one stored before the flag) gets its live events; an unread one none, until a streamed submit', async () => {
    const streamed = await run('1')
    const legacy = await run(null)
    const unread = await run('0')
    for (const r of [streamed, legacy, unread]) {
      await stores.runs.commit(r.thread_id, r.id, { project: 'p1', from: ['queued'], run: { status: 'in_progress' }, live: { events: [{ event: 'thread.run.in_progress', data: {} }] } })
    }
    expect(await liveEvents(streamed)).toEqual(['thread.run.created', 'thread.run.queued', 'thread.run.in_progress'])
    expect(await liveEvents(legacy)).toEqual(['thread.run.created', 'thread.run.queued', 'thread.run.in_progress'])
    expect(await fx.redis.exists(stores.keys.runEvents(unread.thread_id, unread.id))).toBe(0)

    // Continued by a `stream: true` submit: the same commit turns the flag on and appends.
    const outcome = await stores.runs.commit(unread.thread_id, unread.id, {
      project: 'p1',
      from: ['in_progress'],
      run: { status: 'queued' },
      internal: { [RunInternal.live]: '1' },
      live: { events: [{ event: 'thread.run.queued', data: {} }] },
    })
    expect(outcome).toEqual({ ok: true, liveFrom: '0-0' })
    expect(await liveEvents(unread)).toEqual(['thread.run.queued'])
  })
})
