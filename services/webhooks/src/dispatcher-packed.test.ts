import type { WebhookEventType } from '@threadwork/domain'
import { describe, expect, it } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { GROUP } from '@threadwork/webhook-delivery'
import { webhookHarness } from './test-harness.js'

/**
 * Packed outbox entries (a commit's several events in one entry, e1302bd) under the conditions
 * that break ordering if anything does: several dispatchers sharing the outbox, a flaky receiver
 * (first events retried, holding later ones), an endpoint subscribed to only the later events of
 * each entry (its FIFO never holds an entry's first event), a callback on the last event.
 */
const TYPES: WebhookEventType[] = ['thread.message.completed', 'thread.run.completed', 'thread.turn.completed']

/** Positions in `order` of the requests' event ids, retries included: never going back means FIFO held. */
const positionsOf = (ids: string[], order: string[]) => ids.map((id) => order.indexOf(id))

describe('packed outbox entries', () => {
  it('keep per-(target, thread) order and lose nothing with two dispatchers, a flaky receiver and a partial subscriber', async () => {
    const h = await webhookHarness()
    const flaky = () => {
      let n = 0
      const delivered = new Set<string>()
      const refused = new Map<string, number>()
      return {
        delivered,
        handler: (req: { headers: Record<string, unknown> }, res: import('node:http').ServerResponse) => {
          const id = String(req.headers['webhook-id'])
          // Deterministic flakiness: every third request fails (so first, middle and last events are
          // all retried sometimes), but one event twice at most. The three threads' retries can fall
          // into a round in which the same event is always third: refused 10 times in a row (within
          // 1.6 s at 30 ms), it was given up, as its schedule says, and never delivered (load 11-16).
          if (++n % 3 === 0 && (refused.get(id) ?? 0) < 2) {
            refused.set(id, (refused.get(id) ?? 0) + 1)
            return res.writeHead(503).end()
          }
          delivered.add(id)
          res.writeHead(200).end()
        },
      }
    }
    const allF = flaky()
    const laterF = flaky()
    const cbF = flaky()
    const all = await startReceiver(allF.handler)
    const later = await startReceiver(laterF.handler)
    const callback = await startReceiver(cbF.handler)
    await h.endpoint(all.url(), TYPES)
    // Subscribed to the entries' later events only: its FIFO members are all places > 0.
    await h.endpoint(later.url(), ['thread.run.completed', 'thread.turn.completed'])
    const opts = { schedule: [0, 30, 30, 30, 30, 30, 30, 30, 30, 30] }
    await h.start(opts)
    await h.start(opts)

    const threads = ['thread_x', 'thread_y', 'thread_z']
    const sent: Record<string, string[]> = Object.fromEntries(threads.map((t) => [t, []]))
    const callbacks: Record<string, string[]> = Object.fromEntries(threads.map((t) => [t, []]))
    for (let i = 0; i < 6; i++) {
      for (const thread of threads) {
        const ids = await h.emitCommit(
          TYPES.map((type) => ({ type, ...(type === 'thread.turn.completed' ? { callbackUrl: callback.url('/cb') } : {}) })),
          { thread },
        )
        sent[thread]!.push(...ids)
        callbacks[thread]!.push(ids[2]!)
        // A single-event entry between packed ones (an Assistants API run's event).
        if (i % 2 === 0) sent[thread]!.push(await h.emit({ type: 'thread.run.completed', thread, nudge: false }))
      }
    }
    const threadOf = new Map(Object.entries(sent).flatMap(([t, ids]) => ids.map((id) => [id, t] as const)))
    const total = Object.values(sent).reduce((n, ids) => n + ids.length, 0)
    const laterTotal = total - threads.length * 6 // every entry's message.completed is not theirs
    await expect.poll(() => allF.delivered.size, { timeout: 60_000 }).toBe(total)
    await expect.poll(() => laterF.delivered.size, { timeout: 60_000 }).toBe(laterTotal)
    await expect.poll(() => cbF.delivered.size, { timeout: 60_000 }).toBe(threads.length * 6)

    for (const [name, receiver, order] of [
      ['all', all, sent],
      ['later', later, sent],
      ['callback', callback, callbacks],
    ] as const) {
      for (const thread of threads) {
        const seen = receiver.received.map((r) => String(r.headers['webhook-id'])).filter((id) => threadOf.get(id) === thread)
        const positions = positionsOf(seen, order[thread]!)
        expect(positions, `${name} ${thread}`).toEqual([...positions].sort((a, b) => a - b))
      }
    }
    // Every entry acknowledged once all its events' targets were done.
    await expect.poll(async () => (await h.fx.redis.xpending(h.stores.keys.outbox(0), GROUP))[0], { timeout: 30_000 }).toBe(0)
  }, 120_000)

  it("a packed entry read by a dispatcher that died is sent by another, in order, before the thread's later entries", async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end())
    await h.endpoint(receiver.url(), TYPES)
    const k = h.stores.keys
    await h.fx.redis.xgroup('CREATE', k.outbox(0), GROUP, '0', 'MKSTREAM')
    const dead = await h.emitCommit(
      TYPES.map((type) => ({ type })),
      { thread: 'thread_d' },
    )
    // A dispatcher read the packed entry and died before sending any of it.
    expect(await h.fx.redis.xreadgroup('GROUP', GROUP, 'ghost', 'COUNT', 10, 'STREAMS', k.outbox(0), '>')).not.toBeNull()
    // The thread's next commit arrives before the entry can be reclaimed (idle 1.5 s): read fresh by the live dispatcher.
    const next = await h.emitCommit(
      TYPES.map((type) => ({ type })),
      { thread: 'thread_d' },
    )
    await h.start({ reclaimIdleMs: 1500 })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(6)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([...dead, ...next])
    await expect.poll(async () => (await h.fx.redis.xpending(k.outbox(0), GROUP))[0], { timeout: 30_000 }).toBe(0)
  }, 60_000)
})
