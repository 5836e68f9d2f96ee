import { keys as keysOf } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDroppedLiveEvents, createLiveEvents } from './live-events.js'

let fx: RedisFixture
beforeEach(async () => {
  fx = await createRedisFixture()
})
afterEach(async () => {
  await fx.cleanup()
})

const opening = [
  { event: 'thread.run.step.created', data: { id: 'step_1' } },
  { event: 'thread.message.created', data: { id: 'msg_1' } },
  { event: 'thread.message.delta', data: { id: 'msg_1', delta: 'Hi' } },
]

describe('live events', () => {
  it('emitAll appends its events in order, fenced, in one command: a blocked reader gets them in one reply', async () => {
    const k = keysOf(fx.prefix)
    const key = k.runEvents('thread_1', 'run_1')
    const from = (await fx.redis.xadd(key, '*', 'event', 'thread.run.created', 'data', '{}'))!
    const reader = fx.redis.duplicate()
    const name = `${fx.prefix}-reader`
    try {
      await reader.client('SETNAME', name)
      const blocked = reader.xread('BLOCK', 5000, 'STREAMS', key, from)
      // Our reader is blocked before the append: a reply split per entry would show here.
      const blockedNow = async () =>
        String(await fx.redis.call('CLIENT', 'LIST'))
          .split('\n')
          .some((l) => l.includes(`name=${name} `) && l.includes('cmd=xread'))
      await expect.poll(blockedNow).toBe(true)
      const live = createLiveEvents(fx.redis, k)
      await live.emitAll('thread_1', 'run_1', opening, 7)
      const reply = (await blocked) as [string, [string, string[]][]][]
      expect(reply[0]![1].map(([, f]) => f)).toEqual(opening.map((e) => ['event', e.event, 'data', JSON.stringify(e.data), 'fence', '7']))
    } finally {
      reader.disconnect()
    }
  })

  it('emitAll resolves once Redis has the events, and never creates a missing stream', async () => {
    const k = keysOf(fx.prefix)
    const live = createLiveEvents(fx.redis, k)
    const key = k.runEvents('thread_1', 'run_1')
    await fx.redis.xadd(key, '*', 'event', 'thread.run.created', 'data', '{}')
    await live.emitAll('thread_1', 'run_1', opening, 3)
    // Read on another connection: resolved means appended, not only sent.
    const other = fx.redis.duplicate()
    try {
      expect(await other.xlen(key)).toBe(4)
    } finally {
      other.disconnect()
    }
    await live.emitAll('thread_2', 'run_2', opening, 3)
    expect(await fx.redis.exists(k.runEvents('thread_2', 'run_2'))).toBe(0)
  })

  it('a sink that writes nothing gives nothing to wait for', () => {
    expect(createDroppedLiveEvents().emitAll('thread_1', 'run_1', opening, 1)).toBeUndefined()
  })
})
