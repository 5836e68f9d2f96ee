import { newId, newRun, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, type RedisServer, startRedisServer, uniquePrefix } from '@threadwork/test-utils'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { CommitPlan } from './run-store.js'
import { type Stores, createStores } from './stores.js'
import { CALLBACK_OWNER } from './webhook-delivery-log.js'
import { DIRECT_CONSUMER_PREFIX, type DirectClaim, OUTBOX_GROUP, createWebhookDirectAttemptScripts, parseWebhookFifoMember, webhookFifoMember } from './webhook-direct-attempt.js'
import { createWebhookFirstAttemptScripts } from './webhook-first-attempt.js'

let fx: RedisFixture
let stores: Stores
const ME = `${DIRECT_CONSUMER_PREFIX}worker-1`
// A private server: `commandsOf` reads its MONITOR, which on the shared one carries everyone's traffic.
let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.cleanup())
beforeEach(async () => {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
  fx = { redis, prefix: uniquePrefix(), url: server.url, cleanup: async () => void redis.disconnect() }
  stores = createStores(fx.redis, fx.prefix)
  await fx.redis.xgroup('CREATE', stores.keys.outbox(0), OUTBOX_GROUP, '0', 'MKSTREAM')
})
afterEach(() => fx.cleanup())

type Entry = [string, string[]]
const outbox = () => stores.keys.outbox(0)
const fifoOf = (thread: string) => stores.keys.webhookFifo(0, CALLBACK_OWNER, thread)
const version = async () => (await fx.redis.get(stores.keys.webhookVersion('p1'))) ?? ''
const pending = async () => ((await fx.redis.xpending(outbox(), OUTBOX_GROUP, '-', '+', 100)) as [string, string][]).map(([id, owner]) => [id, owner])

/** A queued run on a new thread. */
async function queuedRun() {
  const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
  const { thread } = await stores.threads.create('p1')
  const run = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
  await stores.runs.create('p1', run, [])
  return run
}

/** Ends a run as a turn's end does: three events in one entry, the last with a callback_url; `direct` asks to take it. */
/** A second queued run on `threadId` (the first one already ended). */
async function nextRunOf(threadId: string) {
  const run = newRun({
    id: newId('run'),
    threadId,
    assistant: await stores.assistants.create('p1', { model: 'fake-model' }),
    settings: {},
    createdAt: nowSeconds(),
    expiresAfterSeconds: 600,
  })
  await stores.runs.create('p1', run, [])
  return run
}

async function endRun(run: { id: string; thread_id: string }, extra: Partial<CommitPlan> = {}) {
  return stores.runs.commit(run.thread_id, run.id, {
    project: 'p1',
    from: ['queued'],
    run: { status: 'completed' },
    release: true,
    events: [
      { type: 'thread.message.completed', data: { n: 1 } },
      { type: 'thread.run.completed', data: { n: 2 } },
      { type: 'thread.turn.completed', data: { n: 3 }, callbackUrl: 'http://receiver.example/cb' },
    ],
    ...extra,
  })
}

/** The commands Redis runs for this test's keys while `fn` runs (inside scripts too), lower-cased, in order (MONITOR). */
async function commandsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const monitor = await new Redis(server.url).monitor()
  const seen: string[] = []
  const marker = `end-${Math.random()}`
  let ended: () => void = () => {}
  const end = new Promise<void>((resolve) => {
    ended = resolve
  })
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'ping' && args[1] === marker) ended()
    else if (args.some((a) => String(a).includes(fx.prefix))) seen.push(String(args[0]).toLowerCase())
  })
  try {
    await fn()
    // MONITOR shows commands in the order the server ran them: once this PING is seen, so is all before it.
    await fx.redis.ping(marker)
    await end
  } finally {
    monitor.disconnect()
  }
  return seen
}

/** Has a dispatcher-like consumer read every new entry (they stay pending under its name). */
async function dispatcherReads(consumer = 'host-1'): Promise<Entry[]> {
  const reply = (await fx.redis.xreadgroup('GROUP', OUTBOX_GROUP, consumer, 'COUNT', 100, 'STREAMS', outbox(), '>')) as [string, Entry[]][] | null
  return reply?.[0]?.[1] ?? []
}

describe('a commit taking its own callback (commitRun-6.lua `direct`)', () => {
  it('puts the entry in the pending list under the committer and its member in the (callback, thread) FIFO; a blocked dispatcher is not handed it', async () => {
    const run = await queuedRun()
    // A dispatcher blocked on the stream, as outbox-consumer.ts follows it.
    const follower = fx.redis.duplicate()
    try {
      const blocked = follower.xreadgroup('GROUP', OUTBOX_GROUP, 'host-1', 'COUNT', 100, 'BLOCK', 400, 'STREAMS', outbox(), '>')
      await new Promise((r) => setTimeout(r, 50))
      const outcome = await endRun(run, { direct: { consumer: ME, version: await version() } })
      expect(outcome.ok).toBe(true)
      const direct = outcome.ok ? outcome.direct : undefined
      expect(direct).toBeDefined()
      expect(direct!.sub).toBe(2)
      expect(await blocked).toBeNull()
      expect(await pending()).toEqual([[direct!.entryId, ME]])
      expect(direct!.member).toBe(webhookFifoMember(direct!.entryId, direct!.evt, 2))
      expect(await fx.redis.zrange(fifoOf(run.thread_id), 0, -1)).toEqual([direct!.member])
      // The entry carries the callback's event under that id, in its place.
      const [, fields] = ((await fx.redis.xrange(outbox(), direct!.entryId, direct!.entryId)) as Entry[])[0]!
      const events = JSON.parse(fields![fields!.indexOf('events') + 1]!) as [string, string][]
      expect(events[2]![0]).toBe(direct!.evt)
      expect(events[2]![1]).toBe('thread.turn.completed')

      // Without `direct`, the same blocked read gets the next commit's entry (the check above can fail).
      const next = await queuedRun()
      const blocked2 = follower.xreadgroup('GROUP', OUTBOX_GROUP, 'host-1', 'COUNT', 100, 'BLOCK', 2000, 'STREAMS', outbox(), '>')
      await new Promise((r) => setTimeout(r, 50))
      await endRun(next)
      expect(((await blocked2) as [string, Entry[]][])[0]![1]).toHaveLength(1)
    } finally {
      follower.disconnect()
    }
  })

  it('takes with four commands after the version read (no XINFO: the read tells whether an earlier entry is unread); such an entry is given back unread', async () => {
    const run = await queuedRun()
    const v = await version()
    const seen = await commandsOf(() => endRun(run, { direct: { consumer: ME, version: v } }))
    expect(seen.slice(seen.lastIndexOf('xadd') + 1)).toEqual(['mget', 'zrange', 'xpending', 'xreadgroup', 'zadd'])
    await fx.redis.xack(outbox(), OUTBOX_GROUP, (await pending())[0]![0]!)
    // An earlier entry nobody has read yet: the commit's read gets it, not its own, and gives it back.
    const earlier = await fx.redis.xadd(outbox(), '*', 'evt', 'evt_earlier')
    const later = await queuedRun()
    const outcome = await endRun(later, { direct: { consumer: ME, version: await version() } })
    expect(outcome.ok && outcome.direct).toBeFalsy()
    expect(await pending()).toEqual([])
    expect(await fx.redis.zcard(fifoOf(later.thread_id))).toBe(0)
    // A dispatcher's read gets both, in order, as if the commit had not read.
    const read = await dispatcherReads()
    expect(read.map(([id]) => id)).toEqual([earlier, expect.any(String)])
    expect(read[1]![1]).toContain('events')
    expect(await dispatcherReads()).toEqual([])
  })

  it('an entry of one event with a callback is taken too (no place in the member)', async () => {
    const run = await queuedRun()
    const outcome = await stores.runs.commit(run.thread_id, run.id, {
      project: 'p1',
      from: ['queued'],
      run: { status: 'cancelled' },
      release: true,
      events: [{ type: 'thread.turn.cancelled', data: {}, callbackUrl: 'http://receiver.example/cb' }],
      direct: { consumer: ME, version: '' },
    })
    const direct = outcome.ok ? outcome.direct : undefined
    expect(direct?.sub).toBeNull()
    expect(await fx.redis.zrange(fifoOf(run.thread_id), 0, -1)).toEqual([webhookFifoMember(direct!.entryId, direct!.evt)])
  })

  it('is not taken when the webhook version moved, an earlier entry is unread, the FIFO holds something, or a dispatcher holds an entry; is taken behind another committer’s attempt of the thread', async () => {
    const notTaken = async (outcome: Awaited<ReturnType<typeof endRun>>) => {
      expect(outcome.ok).toBe(true)
      expect(outcome.ok && outcome.direct).toBeFalsy()
    }
    // The snapshot the committer decided on is older than an endpoint write.
    const v = await version()
    await fx.redis.incr(stores.keys.webhookVersion('p1'))
    await notTaken(await endRun(await queuedRun(), { direct: { consumer: ME, version: v } }))
    // That entry is unread: the group is behind, the next one would be read before it.
    await notTaken(await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } }))
    expect(await pending()).toEqual([])
    // A dispatcher read both and holds them (their fan-out may be earlier events of any thread).
    const held = await dispatcherReads()
    expect(held).toHaveLength(2)
    await notTaken(await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } }))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...held.map(([id]) => id))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await dispatcherReads()).map(([id]) => id))
    // The thread's FIFO holds an earlier event (a retry): the callback must queue behind it.
    const run = await queuedRun()
    await fx.redis.zadd(fifoOf(run.thread_id), 0, 'earlier')
    await notTaken(await endRun(run, { direct: { consumer: ME, version: await version() } }))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await dispatcherReads()).map(([id]) => id))
    // Two callbacks in one commit: not this path.
    const two = await queuedRun()
    await notTaken(
      await stores.runs.commit(two.thread_id, two.id, {
        project: 'p1',
        from: ['queued'],
        run: { status: 'completed' },
        events: [
          { type: 'thread.run.completed', data: {}, callbackUrl: 'http://a.example/' },
          { type: 'thread.turn.completed', data: {}, callbackUrl: 'http://a.example/' },
        ],
        direct: { consumer: ME, version: await version() },
      }),
    )
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await dispatcherReads()).map(([id]) => id))
    // The thread's FIFO ends with another committer's attempt of it (another worker process's,
    // still pending under its name): taken behind that one, as behind our own.
    const theirs = await queuedRun()
    const theirsTaken = await endRun(theirs, { direct: { consumer: `${DIRECT_CONSUMER_PREFIX}worker-2`, version: await version() } })
    if (!theirsTaken.ok || !theirsTaken.direct) throw new Error('not taken')
    const behindTheirs = await endRun(await nextRunOf(theirs.thread_id), { direct: { consumer: ME, version: await version() } })
    expect(behindTheirs.ok && behindTheirs.direct?.behind).toBe(theirsTaken.direct.member)
    // A dispatcher claimed that one (it looked abandoned): not taken (a dispatcher holds an entry).
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1', 0, theirsTaken.direct.entryId, 'JUSTID')
    await notTaken(await endRun(await nextRunOf(theirs.thread_id), { direct: { consumer: ME, version: await version() } }))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await pending()).map(([id]) => id!))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await dispatcherReads()).map(([id]) => id))
    // The slot's want (keys.ts `webhookWant`) comes back with the commit.
    await fx.redis.set(stores.keys.webhookWant('p1'), 'direct:worker-2#1')
    const wanted = await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } })
    expect(wanted.ok && wanted.want).toBe('direct:worker-2#1')
    await fx.redis.del(stores.keys.webhookWant('p1'))
    await fx.redis.xack(outbox(), OUTBOX_GROUP, ...(await pending()).map(([id]) => id!))
    // Nothing in the way now: taken, even beside another committer's own attempt of another thread.
    const other = await endRun(await queuedRun(), { direct: { consumer: `${DIRECT_CONSUMER_PREFIX}worker-2`, version: await version() } })
    expect(other.ok && other.direct).toBeTruthy()
    const mine = await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } })
    expect(mine.ok && mine.direct).toBeTruthy()
  })
})

describe('a commit taking its callback behind its own earlier attempt of the thread', () => {
  it('is taken behind the member of the committer’s running attempt, and the settle of that one names it the head', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    const first = await queuedRun()
    const a = await endRun(first, { direct: { consumer: ME, version: await version() } })
    if (!a.ok || !a.direct) throw new Error('not taken')
    expect(a.direct.behind).toBeNull()
    const second = await nextRunOf(first.thread_id)
    const b = await endRun(second, { direct: { consumer: ME, version: await version() } })
    if (!b.ok || !b.direct) throw new Error('not taken')
    expect(b.direct.behind).toBe(a.direct.member)
    expect(await fx.redis.zrange(fifoOf(first.thread_id), 0, -1)).toEqual([a.direct.member, b.direct.member])
    expect(await pending()).toEqual([
      [a.direct.entryId, ME],
      [b.direct.entryId, ME],
    ])
    // The first delivered: its member goes, the second's is the head.
    expect(await direct.settle(a.direct, first.thread_id, ME)).toEqual({ settled: true, head: b.direct.member })
    expect(await direct.settle(b.direct, first.thread_id, ME)).toEqual({ settled: true, head: null })
    expect(await pending()).toEqual([])
  })

  it('is not taken behind a member whose entry is no longer pending under the committer (a retry holds the place)', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    const first = await queuedRun()
    const a = await endRun(first, { direct: { consumer: ME, version: await version() } })
    if (!a.ok || !a.direct) throw new Error('not taken')
    // Failed: a retry job keeps the member, the entry is acknowledged.
    await direct.settle(a.direct, first.thread_id, ME, true)
    const second = await nextRunOf(first.thread_id)
    const b = await endRun(second, { direct: { consumer: ME, version: await version() } })
    expect(b.ok && b.direct).toBeFalsy()
  })
})

describe('first attempts beside a committer’s own callback attempt (checkFifoClear-n.lua)', () => {
  it('another thread’s event is clear; the same (callback, thread) waits behind its FIFO member', async () => {
    const first = createWebhookFirstAttemptScripts(fx.redis, stores.keys)
    const run = await queuedRun()
    const taken = await endRun(run, { direct: { consumer: ME, version: await version() } })
    expect(taken.ok && taken.direct).toBeTruthy()
    // Two later entries the dispatcher reads: one of the same thread, one of another.
    await fx.redis.xadd(outbox(), '*', 'evt', 'evt_same')
    await fx.redis.xadd(outbox(), '*', 'evt', 'evt_other')
    const [same, other] = (await dispatcherReads()).map(([id]) => id)
    const check = (thread: string, entryId: string) => ({ target: CALLBACK_OWNER, thread, entryId })
    expect(
      await first.fifoClear({ shard: 0, group: OUTBOX_GROUP, consumer: 'host-1', events: [check(run.thread_id, same!), check('thread_x', other!)] }),
    ).toEqual([false, true])
  })
})

describe('settling and renewing a committer’s own attempt', () => {
  it('settle: acknowledges and removes the member (or keeps it for a retry); an entry another consumer claimed: delivered, acknowledged all the same; acknowledged by it, left alone', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    const a = await queuedRun()
    const b = await queuedRun()
    const c = await queuedRun()
    const ca = await endRun(a, { direct: { consumer: ME, version: await version() } })
    const cb = await endRun(b, { direct: { consumer: ME, version: await version() } })
    const cc = await endRun(c, { direct: { consumer: ME, version: await version() } })
    if (!ca.ok || !ca.direct || !cb.ok || !cb.direct || !cc.ok || !cc.direct) throw new Error('not taken')
    expect(await direct.settle(ca.direct, a.thread_id, ME)).toEqual({ settled: true, head: null })
    expect(await fx.redis.exists(fifoOf(a.thread_id))).toBe(0)
    expect(await direct.settle(cb.direct, b.thread_id, ME, true)).toEqual({ settled: true, head: null })
    expect(await fx.redis.zrange(fifoOf(b.thread_id), 0, -1)).toEqual([cb.direct.member])
    // c looked abandoned: a dispatcher claimed it, and queued it (its member, its job) and
    // acknowledged it: the claimer's job owns the place, nothing is done here.
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1~r', 0, cc.direct.entryId, 'JUSTID')
    await fx.redis.xack(outbox(), OUTBOX_GROUP, cc.direct.entryId)
    expect(await direct.settle(cc.direct, c.thread_id, ME)).toEqual({ settled: false, head: null })
    expect(await fx.redis.zrange(fifoOf(c.thread_id), 0, -1)).toEqual([cc.direct.member])
    // Delivered while a claimer holds it, not yet queued: acknowledged and its place gone (the
    // claimer's queued send is a duplicate at most: its job finds no place and ends).
    const e = await queuedRun()
    const ce = await endRun(e, { direct: { consumer: ME, version: await version() } })
    if (!ce.ok || !ce.direct) throw new Error('not taken')
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1~r', 0, ce.direct.entryId, 'JUSTID')
    expect(await direct.settle(ce.direct, e.thread_id, ME)).toEqual({ settled: true, head: null })
    expect(await pending()).toEqual([])
    expect(await fx.redis.exists(fifoOf(e.thread_id))).toBe(0)
    // A retry's settle of an entry another consumer holds: left to it (the job beside it is a duplicate of the claimer's).
    const d = await queuedRun()
    const cd = await endRun(d, { direct: { consumer: ME, version: await version() } })
    if (!cd.ok || !cd.direct) throw new Error('not taken')
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1~r', 0, cd.direct.entryId, 'JUSTID')
    expect(await direct.settle(cd.direct, d.thread_id, ME, true)).toEqual({ settled: false, head: null })
    expect(await pending()).toEqual([[cd.direct.entryId, 'host-1~r']])
  })

  it('settle: the member and the next one come off the head in one ZPOPMIN, the next put back', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    const first = await queuedRun()
    const a = await endRun(first, { direct: { consumer: ME, version: await version() } })
    if (!a.ok || !a.direct) throw new Error('not taken')
    // A later event of the thread queued behind it (a dispatcher's job).
    await fx.redis.zadd(fifoOf(first.thread_id), 0, webhookFifoMember('9999999999999-0', 'evt_later'))
    const seen = await commandsOf(async () => expect(await direct.settle(a.direct!, first.thread_id, ME)).toEqual({ settled: true, head: webhookFifoMember('9999999999999-0', 'evt_later') }))
    expect(seen.filter((c) => !c.startsWith('eval'))).toEqual(['xack', 'zpopmin', 'zadd'])
    expect(await fx.redis.zrange(fifoOf(first.thread_id), 0, -1)).toEqual([webhookFifoMember('9999999999999-0', 'evt_later')])
    const second = await queuedRun()
    const b = await endRun(second, { direct: { consumer: ME, version: await version() } })
    if (!b.ok || !b.direct) throw new Error('not taken')
    const alone = await commandsOf(async () => expect(await direct.settle(b.direct!, second.thread_id, ME)).toEqual({ settled: true, head: null }))
    expect(alone.filter((c) => !c.startsWith('eval'))).toEqual(['xack', 'zpopmin'])
    expect(await fx.redis.exists(fifoOf(second.thread_id))).toBe(0)
  })

  it('a delivered attempt is settled in its record’s step, as the settle script does: one script call, same answers', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    await stores.webhookEndpoints.signingSecret.ensure('p1')
    const record = (c: DirectClaim, thread: string) =>
      stores.webhookEndpoints.deliveries.record(
        'p1',
        CALLBACK_OWNER,
        {
          webhook_endpoint_id: null,
          url: 'http://receiver.example/cb',
          event_id: c.evt,
          event_type: c.type,
          thread_id: thread,
          trigger: 'event',
          status: 'succeeded',
          response_status_code: 200,
          latency_ms: 1,
          error: null,
          next_attempt_at: null,
        },
        'none',
        { countAttempt: true, ownerExists: true, settleDelivered: direct.deliveredSettle(c, thread) },
      )
    // Two of a thread, the second taken behind the first: the first's record settles it and names the second the head.
    const first = await queuedRun()
    const a = await endRun(first, { direct: { consumer: ME, version: await version() } })
    const second = await nextRunOf(first.thread_id)
    const b = await endRun(second, { direct: { consumer: ME, version: await version() } })
    if (!a.ok || !a.direct || !b.ok || !b.direct) throw new Error('not taken')
    let recorded: Awaited<ReturnType<typeof record>> = null
    const seen = await commandsOf(async () => {
      recorded = await record(a.direct!, first.thread_id)
    })
    expect(seen.filter((c) => c.startsWith('eval'))).toHaveLength(1)
    expect(recorded).toMatchObject({ attempt: 1, settled: { settled: true, head: b.direct.member } })
    expect(await pending()).toEqual([[b.direct.entryId, ME]])
    expect(await fx.redis.zrange(fifoOf(first.thread_id), 0, -1)).toEqual([b.direct.member])
    // The second one claimed and acknowledged by a dispatcher meanwhile (it owns the place): left alone.
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1~r', 0, b.direct.entryId, 'JUSTID')
    await fx.redis.xack(outbox(), OUTBOX_GROUP, b.direct.entryId)
    expect(await record(b.direct, first.thread_id)).toMatchObject({ settled: { settled: false, head: null } })
    expect(await fx.redis.zrange(fifoOf(first.thread_id), 0, -1)).toEqual([b.direct.member])
    // Without `settleDelivered`, nothing is settled.
    const third = await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } })
    if (!third.ok || !third.direct) throw new Error('not taken')
    const plain = await stores.webhookEndpoints.deliveries.record('p1', CALLBACK_OWNER, { webhook_endpoint_id: null, url: 'http://x.example/', event_id: third.direct.evt, event_type: 't', thread_id: null, trigger: 'event', status: 'succeeded', response_status_code: 200, latency_ms: 1, error: null, next_attempt_at: null }, 'none', { ownerExists: true })
    expect(plain?.settled).toBeUndefined()
    expect(await pending()).toEqual([[third.direct.entryId, ME]])
  })

  it('renew: resets the idle time of entries still ours, and not of one another consumer took', async () => {
    const direct = createWebhookDirectAttemptScripts(fx.redis, stores.keys)
    const a = await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } })
    const b = await endRun(await queuedRun(), { direct: { consumer: ME, version: await version() } })
    if (!a.ok || !a.direct || !b.ok || !b.direct) throw new Error('not taken')
    await fx.redis.xclaim(outbox(), OUTBOX_GROUP, 'host-1~r', 0, b.direct.entryId, 'JUSTID')
    await new Promise((r) => setTimeout(r, 120))
    expect(await direct.renew(0, ME, [a.direct.entryId, b.direct.entryId])).toBe(1)
    const idle = (await fx.redis.xpending(outbox(), OUTBOX_GROUP, '-', '+', 10)) as [string, string, number][]
    expect(idle.map(([id, owner]) => [id, owner])).toEqual([
      [a.direct.entryId, ME],
      [b.direct.entryId, 'host-1~r'],
    ])
    expect(idle[0]![2]).toBeLessThan(100)
    expect(idle[1]![2]).toBeGreaterThanOrEqual(100)
  })
})

describe('parseWebhookFifoMember', () => {
  it('reads back what webhookFifoMember wrote: entry id, place and event id', () => {
    expect(parseWebhookFifoMember(webhookFifoMember('1712345678901-3', 'evt_a'))).toEqual({ entryId: '1712345678901-3', sub: 0, evt: 'evt_a' })
    expect(parseWebhookFifoMember(webhookFifoMember('1712345678901-0', 'evt_b', 12))).toEqual({ entryId: '1712345678901-0', sub: 12, evt: 'evt_b' })
  })
})
