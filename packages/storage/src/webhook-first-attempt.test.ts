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

  it('checkRead: for the entries a read was just handed, the callback FIFO checks (as fifoClear) and the projects\' webhook versions', async () => {
    const stream = k.outbox(0)
    const add = (fields: Record<string, string>) => fx.redis.xadd(stream, '*', ...Object.entries(fields).flat()) as Promise<string>
    const one = (thread: string, project: string, callback: string) => ({ evt: 'evt_x', type: 'thread.run.completed', project, thread, created_at: '1', data: '{}', callback_url: callback })
    const read = async (consumer: string) => {
      const reply = (await fx.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null
      return reply?.[0]?.[1].map(([id]) => id) ?? []
    }
    const check = (after: string) => scripts.checkRead(fx.redis, { shard: 0, group: GROUP, consumer: 'me', after, count: 100 })
    // Read before: in flight here, not part of the next read.
    await add(one('thread_old', 'alpha', 'http://x/cb'))
    const [before] = await read('me')
    await fx.redis.set(k.webhookVersion('alpha'), '7')
    await fx.redis.zadd(k.webhookFifo(0, 'callback', 'thread_queued'), 0, 'm')
    const clear = await add(one('thread_a', 'alpha', 'http://x/cb'))
    const queued = await add(one('thread_queued', 'beta', 'http://x/cb'))
    // An entry of one event without a callback_url needs no FIFO check; its project's version still counts.
    const noCallback = await add(one('thread_b', 'gamma', ''))
    const packed = await add({ project: 'alpha', thread: 'thread_p', created_at: '1', events: '[["evt_1","thread.run.completed",{},"http://x/cb"]]' })
    expect(await read('me')).toEqual([clear, queued, noCallback, packed])
    const got = await check(before!)
    expect([...got.fifoClear]).toEqual([
      [clear, true],
      [queued, false],
      [packed, true],
    ])
    expect([...got.versions]).toEqual([
      ['alpha', '7'],
      ['beta', ''],
      ['gamma', ''],
    ])

    // Another consumer's older entry still pending holds back every younger one; its younger ones hold back nothing.
    const [othersOld] = await (async () => {
      await add(one('thread_c', 'alpha', 'http://x/cb'))
      return read('other')
    })()
    const behind = await add(one('thread_d', 'alpha', 'http://x/cb'))
    expect(await read('me')).toEqual([behind])
    expect([...(await check(packed)).fifoClear]).toEqual([[behind, false]])
    await fx.redis.xack(stream, GROUP, othersOld!)
    expect([...(await check(packed)).fifoClear]).toEqual([[behind, true]])
    // A committer's own callback attempt (its FIFO member is in place) is not looked at.
    await add(one('thread_e', 'alpha', 'http://x/cb'))
    await read('direct:worker-1')
    const afterDirect = await add(one('thread_f', 'alpha', 'http://x/cb'))
    expect(await read('me')).toEqual([afterDirect])
    expect([...(await check(behind)).fifoClear]).toEqual([[afterDirect, true]])

    // The read's entries with another consumer's in between: each one found all the same (the
    // first is older than the other's, so clear; the second is not).
    const mine1 = await add(one('thread_g', 'alpha', 'http://x/cb'))
    expect(await read('me')).toEqual([mine1])
    await add(one('thread_h', 'alpha', 'http://x/cb'))
    expect((await read('other')).length).toBe(1)
    const mine2 = await add(one('thread_i', 'alpha', 'http://x/cb'))
    expect(await read('me')).toEqual([mine2])
    expect([...(await check(afterDirect)).fifoClear]).toEqual([
      [mine1, true],
      [mine2, false],
    ])
    // A read handed nothing: nothing found.
    expect(await read('me')).toEqual([])
    const none = await check(mine2)
    expect([none.fifoClear.size, none.versions.size]).toEqual([0, 0])
  })

  it('checkRead answers every callback as fifoClear does: the one rule, kept in two scripts', async () => {
    // checkReadEntries-1.lua repeats checkFifoClear-n.lua's rule (Redis scripts cannot share code):
    // the same states, asked both ways, must get the same answers.
    const stream = k.outbox(0)
    const add = (thread: string) =>
      fx.redis.xadd(stream, '*', 'evt', 'evt_x', 'type', 'thread.run.completed', 'project', 'alpha', 'thread', thread, 'created_at', '1', 'data', '{}', 'callback_url', 'http://x/cb') as Promise<string>
    const read = async (consumer: string) => {
      const reply = (await fx.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null
      return reply?.[0]?.[1].map(([id]) => id) ?? []
    }
    let last = await add('thread_first')
    expect(await read('me')).toEqual([last])
    /** Adds one callback event per thread, reads them as 'me', and asks both scripts about them. */
    const askBoth = async (threads: string[]) => {
      const ids: string[] = []
      for (const t of threads) ids.push(await add(t))
      expect(await read('me')).toEqual(ids)
      const behindRead = await scripts.checkRead(fx.redis, { shard: 0, group: GROUP, consumer: 'me', after: last, count: 100 })
      last = ids.at(-1)!
      const asked = await scripts.fifoClear({ shard: 0, group: GROUP, consumer: 'me', events: ids.map((entryId, i) => ({ target: 'callback', thread: threads[i]!, entryId })) })
      expect(ids.map((id) => behindRead.fifoClear.get(id))).toEqual(asked)
      return asked
    }

    // Another consumer holds an older entry: nothing of ours goes ahead of it.
    await add('thread_other')
    const [othersOld] = await read('other')
    expect(await askBoth(['thread_1', 'thread_2'])).toEqual([false, false])
    await fx.redis.xack(stream, GROUP, othersOld!)
    expect(await askBoth(['thread_3'])).toEqual([true])
    // A (callback, thread) FIFO with something in it: that thread's callback queues behind it.
    await fx.redis.zadd(k.webhookFifo(0, 'callback', 'thread_4'), 0, 'm')
    expect(await askBoth(['thread_4', 'thread_5'])).toEqual([false, true])
    // A committer's own attempt (direct: consumer, its member in its FIFO) holds back nothing else.
    await add('thread_direct')
    await read('direct:worker-1')
    expect(await askBoth(['thread_6'])).toEqual([true])
  })

  it('checkRead with slots: takes one callback slot per project it may, under the limits, for entries that may go now', async () => {
    const stream = k.outbox(0)
    const add = (fields: Record<string, string>) => fx.redis.xadd(stream, '*', ...Object.entries(fields).flat()) as Promise<string>
    const one = (thread: string, project: string, callback: string) => ({ evt: 'evt_x', type: 'thread.run.completed', project, thread, created_at: '1', data: '{}', callback_url: callback })
    const packed = (thread: string, project: string, callback: string) => ({
      project,
      thread,
      created_at: '1',
      events: JSON.stringify([
        ['evt_1', 'thread.message.completed', { id: 'msg_1', content: [{ text: { value: 'see "http://x"' } }] }, ''],
        ['evt_2', 'thread.run.completed', { id: 'run_1' }, callback],
      ]),
    })
    const read = async () => {
      const reply = (await fx.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null
      return reply?.[0]?.[1].map(([id]) => id) ?? []
    }
    const slots = { memberPrefix: 'me#r1.', leaseMs: 25_000, projectLimit: 25, targetLimit: 2, mayHold: ['held', 'gone'] }
    const members = async (project: string) => [
      await fx.redis.zrange(k.webhookInflight(project), 0, -1),
      await fx.redis.zrange(k.webhookInflightTarget(project, 'callback'), 0, -1),
    ]
    await add(one('thread_0', 'alpha', ''))
    const [start] = await read()
    await fx.redis.zadd(k.webhookFifo(0, 'callback', 'thread_queued'), 0, 'm')
    // 'held': the caller holds a slot of its callback target; 'gone': it held one when it sent the check, given back since.
    await fx.redis.zadd(k.webhookInflightTarget('held', 'callback'), Date.now() + 60_000, 'me#3')
    await fx.redis.zadd(k.webhookInflightTarget('gone', 'callback'), Date.now() + 60_000, 'me-2#1')
    // Full: both of its callback target's slots are someone else's.
    await fx.redis.zadd(k.webhookInflightTarget('full', 'callback'), Date.now() + 60_000, 'a', Date.now() + 60_000, 'b')
    await add(one('thread_a', 'alpha', 'http://x/cb'))
    await add(one('thread_b', 'alpha', 'http://x/cb')) // a second one of alpha: one slot per project per read
    await add(packed('thread_p', 'beta', 'http://x/cb'))
    await add(packed('thread_n', 'gamma', '')) // no callback (a quoted URL in a message is no match)
    await add(one('thread_queued', 'delta', 'http://x/cb')) // behind its FIFO: it will not go now
    await add(one('thread_h', 'held', 'http://x/cb')) // the caller holds a callback slot of this project
    await add(one('thread_g', 'gone', 'http://x/cb'))
    await add(one('thread_f', 'full', 'http://x/cb'))
    const ids = await read()
    expect(ids.length).toBe(8)
    const before = Date.now()
    const got = await scripts.checkRead(fx.redis, { shard: 0, group: GROUP, consumer: 'me', after: start!, count: 100, slots })
    expect(got.slots.map((s) => [s.project, s.member])).toEqual([
      ['alpha', 'me#r1.1'],
      ['beta', 'me#r1.2'],
      ['gone', 'me#r1.3'],
    ])
    expect(got.slots[0]!.leaseUntil).toBeGreaterThanOrEqual(before + 25_000)
    expect(await members('alpha')).toEqual([['me#r1.1'], ['me#r1.1']])
    expect(await members('beta')).toEqual([['me#r1.2'], ['me#r1.2']])
    for (const p of ['gamma', 'delta']) expect(await members(p)).toEqual([[], []])
    expect(await members('held')).toEqual([[], ['me#3']])
    expect(await members('full')).toEqual([[], ['a', 'b']])
    expect(await fx.redis.pttl(k.webhookInflight('alpha'))).toBeGreaterThan(25_000)
    // Without `slots`, none.
    const again = await add(one('thread_c', 'epsilon', 'http://x/cb'))
    expect(await read()).toEqual([again])
    expect((await scripts.checkRead(fx.redis, { shard: 0, group: GROUP, consumer: 'me', after: ids.at(-1)!, count: 100 })).slots).toEqual([])
    expect(await members('epsilon')).toEqual([[], []])
  })
})
