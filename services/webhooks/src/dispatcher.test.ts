import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { GROUP, deliveryJobId } from '@threadwork/webhook-delivery'
import { webhookHarness } from './test-harness.js'

const ok = (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200).end('ok')

describe('webhook dispatcher', () => {
  it('delivers outbox events signed so both standardwebhooks and the openai SDK verify them; respects event_types', async () => {
    const h = await webhookHarness()
    const completed = await startReceiver(ok)
    const failed = await startReceiver(ok)
    const callback = await startReceiver(ok)
    const a = await h.endpoint(completed.url(), ['thread.run.completed'])
    const b = await h.endpoint(failed.url(), ['thread.run.failed'])
    await h.start()

    const run = { id: 'run_1', object: 'thread.run', status: 'completed', thread_id: 'thread_1' }
    const evt = await h.emit({ type: 'thread.run.completed', data: run })
    await expect.poll(() => completed.received.length).toBe(1)
    const [req] = completed.received
    expect(req!.headers['webhook-id']).toBe(evt)
    expect(JSON.parse(req!.body)).toEqual({ id: evt, object: 'event', type: 'thread.run.completed', created_at: expect.any(Number), data: run })
    expect(new Webhook(a.signing_secret).verify(req!.body, req!.headers as Record<string, string>)).toMatchObject({ id: evt })
    const unwrapped = await new OpenAI({ apiKey: 'x', webhookSecret: a.signing_secret }).webhooks.unwrap(req!.body, req!.headers as Record<string, string>)
    expect(unwrapped).toMatchObject({ id: evt, object: 'event', type: 'thread.run.completed' })
    await expect(new OpenAI({ apiKey: 'x', webhookSecret: b.signing_secret }).webhooks.unwrap(req!.body, req!.headers as Record<string, string>)).rejects.toThrow()

    // The filter: b only hears run.failed; a turn's callback_url hears its turn event, signed with the project secret.
    const turn = await h.emit({ type: 'thread.turn.completed', data: { turn: { id: 'turn_1' } }, callbackUrl: callback.url('/cb?x=1') })
    const failedEvt = await h.emit({ type: 'thread.run.failed' })
    await expect.poll(() => failed.received.length).toBe(1)
    expect(failed.received[0]!.headers['webhook-id']).toBe(failedEvt)
    await expect.poll(() => callback.received.length).toBe(1)
    expect(callback.received[0]).toMatchObject({ url: '/cb?x=1', headers: { 'webhook-id': turn } })
    // The dispatcher created the project secret (first callback); the API would show only its hint now.
    const signing_secret = (await h.stores.webhookEndpoints.signingSecret.ensure('alpha'))._secret
    const cb = callback.received[0]!
    await new OpenAI({ apiKey: 'x', webhookSecret: signing_secret }).webhooks.unwrap(cb.body, cb.headers as Record<string, string>)
    expect(completed.received).toHaveLength(1)

    // Every attempt is logged.
    const [attempt] = await h.deliveries(a.id)
    expect(attempt).toMatchObject({
      object: 'webhook_delivery',
      webhook_endpoint_id: a.id,
      event_id: evt,
      event_type: 'thread.run.completed',
      thread_id: 'thread_1',
      attempt: 1,
      trigger: 'event',
      status: 'succeeded',
      response_status_code: 200,
      error: null,
      next_attempt_at: null,
    })
    expect(attempt!.latency_ms).toBeGreaterThanOrEqual(0)
    const callbacks = await h.stores.webhookEndpoints.deliveries.list('alpha', 'callback', { limit: 10, order: 'desc' })
    expect(callbacks.data).toMatchObject([{ webhook_endpoint_id: null, event_id: turn, status: 'succeeded' }])
  })

  it('follows a shard stream with a blocking read: an event goes out without a nudge, long before the poll; close ends the read at once', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver(ok)
    await h.endpoint(receiver.url())
    // Polled every 20 s: only the blocking read can see the event sooner.
    const d = await h.start({ pollMs: 20_000 })
    const sent = Date.now()
    const evt = await h.emit({ type: 'thread.run.completed', nudge: false })
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1)
    expect(receiver.received[0]!.headers['webhook-id']).toBe(evt)
    expect(Date.now() - sent).toBeLessThan(10_000)
    await expect.poll(() => h.fx.redis.xpending(h.stores.keys.outbox(0), GROUP).then((p) => (p as [number])[0])).toBe(0)
    const closing = Date.now()
    await h.stop(d)
    expect(Date.now() - closing).toBeLessThan(10_000)
  })

  it("after a failed handling, a followed stream's next batch waits for our own pending entry: a thread's events keep their order", async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver(ok)
    await h.endpoint(receiver.url())
    await h.start({ pollMs: 20_000 })
    const version = h.stores.keys.webhookVersion('alpha')
    const outbox = h.stores.keys.outbox(0)
    const pending = async () => ((await h.fx.redis.xpending(outbox, GROUP)) as [number])[0]
    // The endpoint read fails (a key of the wrong type): the batch of e1 fails, e1 stays pending with us.
    await h.fx.redis.del(version)
    await h.fx.redis.hset(version, 'broken', '1')
    const e1 = await h.emit({ type: 'thread.run.completed', thread: 'thread_o', nudge: false })
    await expect.poll(pending).toBe(1)
    await new Promise((r) => setTimeout(r, 200))
    expect(receiver.received).toHaveLength(0)
    await h.fx.redis.del(version)
    // e2 of the same thread, read next by the blocking read: it must not go before e1.
    const e2 = await h.emit({ type: 'thread.run.completed', thread: 'thread_o', nudge: false })
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(2)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([e1, e2])
    await expect.poll(pending).toBe(0)
  })

  it('retries a 500 with the same webhook-id and body, then succeeds', async () => {
    const h = await webhookHarness()
    let calls = 0
    const receiver = await startReceiver((_req, res) => res.writeHead(++calls === 1 ? 500 : 200).end())
    const e = await h.endpoint(receiver.url())
    await h.start()
    const evt = await h.emit({ type: 'thread.run.completed' })

    await expect.poll(() => receiver.received.length).toBe(2)
    const [first, second] = receiver.received
    expect(second!.headers['webhook-id']).toBe(evt)
    expect(first!.headers['webhook-id']).toBe(evt)
    expect(second!.body).toBe(first!.body)
    for (const r of [first!, second!]) new Webhook(e.signing_secret).verify(r.body, r.headers as Record<string, string>)
    await expect.poll(() => h.deliveries(e.id).then((d) => d.length)).toBe(2)
    const [failed, succeeded] = await h.deliveries(e.id)
    expect(failed).toMatchObject({ attempt: 1, status: 'failed', response_status_code: 500, error: 'http_500', next_attempt_at: expect.any(Number) })
    expect(succeeded).toMatchObject({ attempt: 2, status: 'succeeded', response_status_code: 200, next_attempt_at: null })
  })

  it("fails a delivery that used up its schedule (dashboard's Failed), without holding up its thread; retrying the job sends it once more", async () => {
    const h = await webhookHarness()
    let up = false
    const receiver = await startReceiver((req, res) => res.writeHead(up || JSON.parse(req.body).id !== first ? 200 : 503).end())
    const e = await h.endpoint(receiver.url())
    const d = await h.start({ schedule: [0, 20, 20] })
    const first = await h.emit({ type: 'thread.run.completed', thread: 'thread_x' })
    const second = await h.emit({ type: 'thread.run.completed', thread: 'thread_x' })

    const job = () => d.queues[0]!.getJob(deliveryJobId(first, e.id))
    await expect.poll(async () => (await job())?.getState(), { timeout: 30_000 }).toBe('failed')
    expect((await job())!.failedReason).toMatch(/exhausted: http_503/)
    // The thread's next event went out after its predecessor gave up.
    await expect.poll(() => receiver.received.some((r) => r.headers['webhook-id'] === second)).toBe(true)
    expect(receiver.received.filter((r) => r.headers['webhook-id'] === first)).toHaveLength(3)

    up = true
    await (await job())!.retry('failed')
    await expect.poll(async () => (await job())?.getState(), { timeout: 30_000 }).toBe('completed')
    const sent = receiver.received.filter((r) => r.headers['webhook-id'] === first)
    expect(sent).toHaveLength(4)
    expect(sent[3]!.body).toBe(sent[0]!.body)
    const log = (await h.deliveries(e.id)).filter((x) => x.event_id === first)
    expect(log.map((x) => x.status)).toEqual(['failed', 'failed', 'failed', 'succeeded'])
  })

  it('honours retry-after on a 429', async () => {
    const h = await webhookHarness()
    const at: number[] = []
    const receiver = await startReceiver((_req, res) => {
      at.push(Date.now())
      if (at.length === 1) res.writeHead(429, { 'retry-after': '1' }).end()
      else res.writeHead(204).end()
    })
    await h.endpoint(receiver.url())
    await h.start({ schedule: [0, 10, 10] })
    await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(2)
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950)
  })

  it('disables an endpoint that answers 410 and sends it nothing more', async () => {
    const h = await webhookHarness()
    const gone = await startReceiver((_req, res) => res.writeHead(410).end())
    const live = await startReceiver(ok)
    const e = await h.endpoint(gone.url())
    await h.endpoint(live.url())
    const d = await h.start()
    await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => h.stores.webhookEndpoints.get('alpha', e.id).then((x) => x.status)).toBe('disabled')
    const endpoint = await h.stores.webhookEndpoints.get('alpha', e.id)
    expect(endpoint.disabled_reason).toMatch(/410 Gone/)
    expect(endpoint.disabled_at).toEqual(expect.any(Number))
    expect(await h.deliveries(e.id)).toMatchObject([{ status: 'failed', response_status_code: 410, next_attempt_at: null }])

    const next = await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => live.received.length).toBe(2)
    expect(await d.queues[0]!.getJob(deliveryJobId(next, e.id))).toBeUndefined()
    expect(gone.received).toHaveLength(1)
  })

  it('refuses a private address that is not allow-listed, records why, and does not retry', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver(ok)
    const e = await h.endpoint(receiver.url())
    await h.start({ allowPrivate: [] })
    await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => h.deliveries(e.id).then((d) => d.length)).toBe(1)
    const [attempt] = await h.deliveries(e.id)
    expect(attempt).toMatchObject({ status: 'failed', response_status_code: null, next_attempt_at: null })
    expect(attempt!.error).toMatch(/^ssrf_blocked: /)
    expect(receiver.received).toHaveLength(0)
    expect((await h.stores.webhookEndpoints.get('alpha', e.id)).status).toBe('enabled')
  })

  it("delivers a thread's events in order while the first is retried, without holding up other threads", async () => {
    const h = await webhookHarness()
    let firstTries = 0
    const e1Id = 'evt_ordered0000000000000001'
    const receiver = await startReceiver((req, res) => {
      const id = req.headers['webhook-id']
      if (id === e1Id && ++firstTries < 3) return res.writeHead(503).end()
      res.writeHead(200).end()
    })
    const e = await h.endpoint(receiver.url())
    await h.start({ schedule: [0, 300, 300, 300] })
    const e1 = await h.emit({ type: 'thread.run.completed', thread: 'thread_a', evt: e1Id })
    const other = await h.emit({ type: 'thread.run.completed', thread: 'thread_b' })
    const e2 = await h.emit({ type: 'thread.run.completed', thread: 'thread_a' })
    const e3 = await h.emit({ type: 'thread.run.completed', thread: 'thread_a' })

    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(6)
    const order = receiver.received.map((r) => r.headers['webhook-id'])
    expect(order.filter((id) => id !== other)).toEqual([e1, e1, e1, e2, e3])
    // thread_b's event went out while thread_a's first event was still being retried.
    expect(order.indexOf(other)).toBeLessThan(order.lastIndexOf(e1))
    const log = await h.deliveries(e.id)
    expect(log.filter((d) => d.event_id === e1).map((d) => d.status)).toEqual(['failed', 'failed', 'succeeded'])
  })

  it("delivers a commit's events from its one outbox entry, in order, each to its own subscribers", async () => {
    const h = await webhookHarness()
    const all = await startReceiver(ok)
    const runsOnly = await startReceiver(ok)
    const callback = await startReceiver(ok)
    await h.endpoint(all.url(), ['thread.message.completed', 'thread.run.completed', 'thread.turn.completed'])
    await h.endpoint(runsOnly.url(), ['thread.run.completed'])
    await h.start()
    const data = [{ id: 'msg_1', object: 'thread.message' }, { id: 'run_1', object: 'thread.run' }, { turn: { id: 'turn_1' } }]
    const ids = await h.emitCommit(
      [
        { type: 'thread.message.completed', data: data[0] },
        { type: 'thread.run.completed', data: data[1] },
        { type: 'thread.turn.completed', data: data[2], callbackUrl: callback.url('/cb') },
      ],
      { thread: 'thread_p' },
    )
    const later = await h.emit({ type: 'thread.turn.completed', thread: 'thread_p' })

    await expect.poll(() => all.received.length).toBe(4)
    expect(all.received.map((r) => r.headers['webhook-id'])).toEqual([...ids, later])
    const types = ['thread.message.completed', 'thread.run.completed', 'thread.turn.completed']
    ids.forEach((id, i) => expect(JSON.parse(all.received[i]!.body)).toEqual({ id, object: 'event', type: types[i], created_at: expect.any(Number), data: data[i] }))
    await expect.poll(() => runsOnly.received.length).toBe(1)
    expect(runsOnly.received[0]!.headers['webhook-id']).toBe(ids[1])
    await expect.poll(() => callback.received.length).toBe(1)
    expect(callback.received[0]).toMatchObject({ url: '/cb', headers: { 'webhook-id': ids[2] } })
    // Each event was stored for redelivery, and the entry is acknowledged once all of them are done.
    for (const id of ids) expect((await h.stores.webhookEndpoints.deliveries.getEvent('alpha', id))?.body).toBe(all.received[ids.indexOf(id)]!.body)
    await expect.poll(async () => (await h.fx.redis.xpending(h.stores.keys.outbox(0), GROUP))[0]).toBe(0)
  })

  it("holds a packed entry's later events behind its earlier one while it is retried", async () => {
    const h = await webhookHarness()
    const first = 'evt_packed00000000000000001'
    let firstTries = 0
    const receiver = await startReceiver((req, res) => {
      if (req.headers['webhook-id'] === first && ++firstTries < 3) return res.writeHead(503).end()
      res.writeHead(200).end()
    })
    await h.endpoint(receiver.url(), ['thread.message.completed', 'thread.run.completed', 'thread.turn.completed'])
    await h.start({ schedule: [0, 200, 200, 200] })
    const ids = await h.emitCommit([{ type: 'thread.message.completed', evt: first }, { type: 'thread.run.completed' }, { type: 'thread.turn.completed' }], { thread: 'thread_q' })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(5)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([first, first, ...ids])
  })

  it('keeps per-thread order with two dispatchers sharing the outbox and a flaky receiver', async () => {
    const h = await webhookHarness()
    let n = 0
    const delivered = new Set<string>()
    const refused = new Map<string, number>()
    // Deterministic flakiness: every third request fails, but one event twice at most (the
    // threads' retries can fall into a round in which the same event is always third, and 8
    // refusals in a row give it up, as its schedule says: dispatcher-packed.test.ts).
    const receiver = await startReceiver((req, res) => {
      const id = String(req.headers['webhook-id'])
      if (++n % 3 === 0 && (refused.get(id) ?? 0) < 2) {
        refused.set(id, (refused.get(id) ?? 0) + 1)
        return res.writeHead(500).end()
      }
      delivered.add(id)
      res.writeHead(200).end()
    })
    await h.endpoint(receiver.url())
    const opts = { schedule: [0, 30, 30, 30, 30, 30, 30, 30] }
    await h.start(opts)
    await h.start(opts)
    const sent: Record<string, string[]> = { thread_x: [], thread_y: [], thread_z: [] }
    for (let i = 0; i < 10; i++) {
      for (const thread of Object.keys(sent)) sent[thread]!.push(await h.emit({ type: 'thread.run.completed', thread }))
    }
    const threadOf = new Map(Object.entries(sent).flatMap(([t, ids]) => ids.map((id) => [id, t] as const)))
    await expect.poll(() => delivered.size, { timeout: 30_000 }).toBe(30)
    for (const [thread, ids] of Object.entries(sent)) {
      const seen = receiver.received.map((r) => String(r.headers['webhook-id'])).filter((id) => threadOf.get(id) === thread)
      // Requests (retries included) never go back to an earlier event of the thread.
      const positions = seen.map((id) => ids.indexOf(id))
      expect(positions, thread).toEqual([...positions].sort((a, b) => a - b))
      expect(new Set(seen).size, thread).toBe(10)
    }
  })

  it('re-processes an outbox entry a dead dispatcher read but never acknowledged', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver(ok)
    await h.endpoint(receiver.url())
    const k = h.stores.keys
    await h.fx.redis.xgroup('CREATE', k.outbox(0), GROUP, '0', 'MKSTREAM')
    const evt = await h.emit({ type: 'thread.run.completed' })
    // A dispatcher that read the entry and died before fanning it out.
    const read = await h.fx.redis.xreadgroup('GROUP', GROUP, 'ghost', 'COUNT', 10, 'STREAMS', k.outbox(0), '>')
    expect(read).not.toBeNull()

    await h.start({ reclaimIdleMs: 300 })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(1)
    expect(receiver.received[0]!.headers['webhook-id']).toBe(evt)
    await expect.poll(async () => (await h.fx.redis.xpending(k.outbox(0), GROUP))[0]).toBe(0)
  })

  it('answers test sends, and redelivers a logged delivery with the same webhook-id', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver((req, res) => res.writeHead(JSON.parse(req.body).data.test ? 202 : 200).end())
    const e = await h.endpoint(receiver.url())
    await h.start()

    // Answered at once (queued); the outcome lands in the delivery log.
    const result = await h.stores.webhookEndpoints.test('alpha', e.id, 'thread.run.failed')
    expect(result).toEqual({
      object: 'webhook_endpoint.test',
      event_type: 'thread.run.failed',
      status_code: null,
      success: true,
      webhook_endpoint_id: e.id,
      status: 'queued',
      event_id: expect.stringMatching(/^evt_/),
    })
    await expect.poll(() => h.deliveries(e.id), { timeout: 30_000 }).toMatchObject([{ trigger: 'test', status: 'succeeded', response_status_code: 202, event_id: result.event_id }])
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ object: 'event', type: 'thread.run.failed', data: { test: true } })

    const evt = await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => h.deliveries(e.id).then((d) => d.length)).toBe(2)
    const original = (await h.deliveries(e.id))[1]!
    const scheduled = await h.stores.webhookEndpoints.redeliver('alpha', e.id, original.id)
    expect(scheduled).toMatchObject({ event_id: evt, status: 'scheduled' })
    await expect.poll(() => receiver.received.length).toBe(3)
    expect(receiver.received[2]!.headers['webhook-id']).toBe(evt)
    expect(receiver.received[2]!.body).toBe(receiver.received[1]!.body)
    await expect.poll(() => h.deliveries(e.id).then((d) => d.at(-1))).toMatchObject({ event_id: evt, trigger: 'retry', attempt: 2, status: 'succeeded' })
  })

  it('signs with both secrets during a rotation grace period', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver(ok)
    const e = await h.endpoint(receiver.url())
    const rotated = await h.stores.webhookEndpoints.rotateSecret('alpha', e.id, { keep_old_secret_active_for_24_hours: true })
    await h.start()
    await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => receiver.received.length).toBe(1)
    const r = receiver.received[0]!
    expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2)
    for (const secret of [e.signing_secret, rotated.signing_secret]) {
      await new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(r.body, r.headers as Record<string, string>)
    }
  })

  it('acknowledges and trims what it has processed, skipping malformed entries', async () => {
    const h = await webhookHarness()
    const k = h.stores.keys
    await h.fx.redis.xadd(k.outbox(0), '*', 'evt', 'evt_bad', 'type', 'thread.run.completed', 'project', 'alpha', 'created_at', '1', 'data', '{not json')
    for (let i = 0; i < 300; i++) await h.emit({ type: 'thread.run.completed', project: 'nobody' })
    await h.start()
    await expect.poll(async () => (await h.fx.redis.xpending(k.outbox(0), GROUP))[0]).toBe(0)
    // XTRIM MINID ~ removes whole macro nodes (100 entries each), so a few may stay.
    await expect.poll(() => h.fx.redis.xlen(k.outbox(0))).toBeLessThan(200)
  })
})
