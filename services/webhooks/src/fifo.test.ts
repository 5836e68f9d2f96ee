import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FifoDeps, fifoMember, gate } from './fifo.js'
import { type DeliveryJob, GROUP } from '@threadwork/webhook-delivery'

let fx: RedisFixture
let deps: FifoDeps
beforeEach(async () => {
  fx = await createRedisFixture('fifo')
  const k = createStores(fx.redis, fx.prefix).keys
  const queue = new Queue<DeliveryJob>('webhooks-fifo-test', { connection: fx.redis, prefix: fx.prefix })
  deps = { redis: fx.redis, queue, outboxKey: k.outbox(0), recheckMs: 100, maxWaitMs: 1000 }
})
afterEach(async () => {
  await deps.queue.close()
  await fx.cleanup()
})

describe('fifo', () => {
  it('sorts a packed entry’s members by place, after older entries and before newer ones', () => {
    const members = [
      fifoMember('1700000000000-1', 'evt_z', 0),
      fifoMember('1700000000000-0', 'evt_y'),
      fifoMember('1700000000000-1', 'evt_a', 2),
      fifoMember('1700000000000-1', 'evt_m', 1),
      fifoMember('1700000000001-0', 'evt_b'),
    ]
    expect([...members].sort()).toEqual([members[1], members[0], members[3], members[2], members[4]])
  })

  it('lets a packed entry’s later event go only once its own entry is no longer pending (its earlier events may be in flight outside the FIFO)', async () => {
    await fx.redis.xgroup('CREATE', deps.outboxKey, GROUP, '0', 'MKSTREAM')
    const entryId = (await fx.redis.xadd(deps.outboxKey, '*', 'project', 'p', 'events', '[]'))!
    await fx.redis.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', 10, 'STREAMS', deps.outboxKey, '>')
    const fifoKey = `${fx.prefix}:fifo-test`
    const second = fifoMember(entryId, 'evt_second', 1)
    await fx.redis.zadd(fifoKey, 0, second)
    // The first event of the entry is being attempted straight from the outbox: its entry is pending.
    expect(await gate(deps, fifoKey, second, 'whe_1')).toMatchObject({ kind: 'wait' })
    // An entry's first (or only) event does not wait for its own entry.
    const only = fifoMember(entryId, 'evt_only')
    await fx.redis.zadd(`${fifoKey}2`, 0, only)
    expect(await gate(deps, `${fifoKey}2`, only, 'whe_1')).toEqual({ kind: 'go' })
    const firstOfPacked = fifoMember(entryId, 'evt_first', 0)
    await fx.redis.zadd(`${fifoKey}3`, 0, firstOfPacked)
    expect(await gate(deps, `${fifoKey}3`, firstOfPacked, 'whe_1')).toEqual({ kind: 'go' })
    // Acknowledged (every event of it settled): the later event goes.
    await fx.redis.xack(deps.outboxKey, GROUP, entryId)
    expect(await gate(deps, fifoKey, second, 'whe_1')).toEqual({ kind: 'go' })
  })
})
