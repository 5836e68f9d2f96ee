import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { keys } from './keys.js'
import { createWebhookFirstAttemptScripts } from './webhook-first-attempt.js'

let fx: RedisFixture
let k: ReturnType<typeof keys>
let scripts: ReturnType<typeof createWebhookFirstAttemptScripts>
const GROUP = 'dispatch'
beforeEach(async () => {
  fx = await createRedisFixture()
  k = keys(fx.prefix, 1)
  scripts = createWebhookFirstAttemptScripts(fx.redis, k)
  await fx.redis.xgroup('CREATE', k.outbox(0), GROUP, '0', 'MKSTREAM')
})
afterEach(() => fx.cleanup())

/** Appends `n` entries and has `consumer` read them (pending under its name); their ids, oldest first. */
async function readAs(consumer: string, n: number): Promise<string[]> {
  const add = fx.redis.pipeline()
  for (let i = 0; i < n; i++) add.xadd(k.outbox(0), '*', 'evt', `evt_${i}`)
  await add.exec()
  const reply = (await fx.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', n, 'STREAMS', k.outbox(0), '>')) as [string, [string, string[]][]][]
  return reply[0]![1].map(([id]) => id)
}

describe('first-attempt scripts', () => {
  it('fifoClear: clear unless the FIFO holds something or another consumer holds an older entry; own entries never block', async () => {
    const [otherOld] = await readAs('other', 1)
    const [mine1, mine2] = await readAs('me', 2)
    const [otherNew] = await readAs('other', 1)
    await fx.redis.zadd(k.webhookFifo(0, 'callback', 'thread_b'), 0, 'x')
    const ev = (thread: string, entryId: string) => ({ target: 'callback', thread, entryId })
    const check = (events: { target: string; thread: string; entryId: string }[]) => scripts.fifoClear({ shard: 0, group: GROUP, consumer: 'me', events })

    // 'other' holds an entry older than ours: nothing of ours may go ahead of it.
    expect(await check([ev('thread_a', mine1!), ev('thread_a', mine2!)])).toEqual([false, false])
    await fx.redis.xack(k.outbox(0), GROUP, otherOld!)
    // Now only younger ones at 'other' (they cannot be earlier events) and our own: clear, except where the FIFO is not empty.
    expect(await check([ev('thread_a', mine1!), ev('thread_b', mine2!), ev('thread_a', mine2!)])).toEqual([true, false, true])
    // An entry younger than another consumer's pending one must wait for it.
    const [mine3] = await readAs('me', 1)
    expect(otherNew).toBeDefined()
    expect(await check([ev('thread_c', mine3!)])).toEqual([false])
  })

  it('ack: acknowledges the given entries still pending here, leaves one another consumer claimed, and the rest alone', async () => {
    const [a, b, c, d] = await readAs('me', 4)
    // b was claimed by another dispatcher (it thought us dead): its outcome is that one's now.
    await fx.redis.xclaim(k.outbox(0), GROUP, 'other', 0, b!, 'JUSTID')
    expect(await scripts.ack({ shard: 0, group: GROUP, consumer: 'me', entryIds: [d!, a!, b!] })).toBe(2)
    const pending = (await fx.redis.xpending(k.outbox(0), GROUP, '-', '+', 10)) as [string, string][]
    expect(pending.map(([id, owner]) => [id, owner])).toEqual([
      [b, 'other'],
      [c, 'me'],
    ])
  })

  it('ack: finds its entries beyond one page of the pending entries of this consumer', async () => {
    const ids = await readAs('me', 1002)
    expect(await scripts.ack({ shard: 0, group: GROUP, consumer: 'me', entryIds: [ids[0]!, ids[1001]!] })).toBe(2)
    const summary = (await fx.redis.xpending(k.outbox(0), GROUP)) as [number, string, string]
    expect(summary.slice(0, 3)).toEqual([1000, ids[1], ids[1000]])
  })
})
