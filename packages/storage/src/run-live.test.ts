import { newId, newRun, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunInternal } from './run-plans.js'
import { LIVE_EVENTS_TTL_SECONDS } from './run-store.js'
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

describe("a commit's live events, fence and end (commitRun-6.lua ARGV[19..23])", () => {
  it('tags each entry with the fence, ends the segment with done and its TTL, and re-marks the thread pending', async () => {
    const r = await run('1')
    const { fence } = await stores.runs.claim(r.thread_id)
    const key = stores.keys.runEvents(r.thread_id, r.id)
    await fx.redis.persist(key)
    await fx.redis.zrem(stores.keys.shardPending(r.thread_id), r.thread_id)
    const outcome = await stores.runs.commit(r.thread_id, r.id, {
      project: 'p1',
      fence,
      from: ['queued'],
      run: { status: 'requires_action' },
      pending: true,
      live: { events: [{ event: 'thread.run.requires_action', data: { id: r.id } }], end: true },
    })
    expect(outcome.ok).toBe(true)
    const entries = ((await fx.redis.xrange(key, '-', '+')) as [string, string[]][]).map(([, f]) => f)
    expect(entries.slice(-2)).toEqual([
      ['event', 'thread.run.requires_action', 'data', JSON.stringify({ id: r.id }), 'fence', String(fence)],
      ['event', 'done', 'data', '[DONE]'],
    ])
    expect(await fx.redis.ttl(key)).toBeGreaterThan(LIVE_EVENTS_TTL_SECONDS - 60)
    expect(await fx.redis.zscore(stores.keys.shardPending(r.thread_id), r.thread_id)).not.toBeNull()
  })
})

