import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

// biome-ignore lint/suspicious/noExplicitAny: event bodies are asserted field by field
type Json = any

interface Received {
  body: string
  headers: IncomingHttpHeaders
  event: Json
}

/**
 * A real HTTP receiver. `answer` decides each request's fate: a status now, or 'hold' (never
 * answered: the request stays open until the sender goes away, which `held` records).
 */
async function startReceiver() {
  const received: Received[] = []
  const held: { headers: IncomingHttpHeaders; closed: boolean }[] = []
  let answer: (r: Received) => number | 'hold' | Promise<number> = () => 200
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', async () => {
      const r = { body, headers: req.headers, event: JSON.parse(body) }
      const status = await answer(r)
      if (status === 'hold') {
        const h = { headers: req.headers, closed: false }
        held.push(h)
        res.on('close', () => (h.closed = true))
        return
      }
      if (status === 200) received.push(r)
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    received,
    held,
    answer: (fn: typeof answer) => void (answer = fn),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

let upstream: FakeUpstream
let api: ApiServer
let worker: ServiceProcess | null = null
let webhooks: ServiceProcess | null = null
let client: OpenAI
let receiver: Awaited<ReturnType<typeof startReceiver>>
let secret: string

// The worker and the webhooks service get the same attempt settings (WebhookAttemptEnv), as in production.
const attemptEnv = () => ({
  REDIS_PREFIX: api.prefix,
  WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32',
  WEBHOOK_RETRY_SCHEDULE_MS: '0,300,300,300,300,300',
  WEBHOOK_RECLAIM_IDLE_MS: '2000',
})
const startWorker = async () => {
  worker = await startServiceProcess('worker', {
    ...attemptEnv(),
    UPSTREAM_BASE_URL: upstream.baseURL,
    UPSTREAM_API_KEY: 'x',
    WORKER_LOCK_MS: '5000',
    WORKER_DIRECT_CALLBACKS: 'true',
  })
}
const startWebhooks = async () => {
  webhooks ??= await startServiceProcess('webhooks', { ...attemptEnv(), WEBHOOK_POLL_MS: '200' }, { readyMessage: 'webhook dispatcher ready' })
}
const stopWebhooks = async () => {
  if (!webhooks) return
  webhooks.kill('SIGKILL')
  await webhooks.exited
  webhooks = null
}

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${api.baseURL}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Json }
}
const get = async (path: string) => (await (await fetch(`${api.baseURL}${path}`, { headers: { authorization: `Bearer ${api.apiKey}` } })).json()) as Json

/** Verifies with both libraries a customer would use; returns the event. */
async function verify(r: Received): Promise<Json> {
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }
  const viaStandard = new Webhook(secret).verify(r.body, headers)
  const viaSdk = await new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(r.body, headers)
  expect(viaSdk).toEqual(viaStandard)
  return viaStandard
}

const turnEvents = (threadId: string) => receiver.received.filter((r) => r.event.type?.startsWith('thread.turn.') && r.event.data.turn.thread_id === threadId)
const attemptsOf = async (threadId: string) =>
  ((await get('/webhook_callback_deliveries?limit=100')).data as Json[]).filter((d) => d.thread_id === threadId).sort((a, b) => a.attempt - b.attempt)
const turnDone = async (threadId: string, turnId: string) =>
  expect.poll(async () => (await get(`/threads/${threadId}/turns/${turnId}`)).status, { timeout: 30_000 }).toBe('completed')
/** The outbox group's pending entries, `[id, consumer]`. */
const pendingEntries = async () =>
  ((await api.redis.xpending(api.stores.keys.outbox(0), 'dispatch', '-', '+', 100)) as [string, string][]).map(([id, consumer]) => [id, consumer])

let assistantId: string
beforeAll(async () => {
  upstream = await startFakeUpstream()
  // The API accepts any loopback callback (registration check); the worker and the webhooks service
  // reach only 127.0.0.1 (their SSRF guard at send time): 127.0.0.2 is refused there.
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL, webhookAllowPrivate: ['127.0.0.0/8'] })
  await startWorker()
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  receiver = await startReceiver()
  secret = (await get('/webhook_signing_secret')).signing_secret
  expect(secret).toMatch(/^whsec_/)
  assistantId = (await client.beta.assistants.create({ model: 'fake-model' })).id
}, 180_000)
afterEach(async () => {
  receiver.answer(() => 200)
  await stopWebhooks()
})
afterAll(async () => {
  worker?.kill('SIGKILL')
  webhooks?.kill('SIGKILL')
  await receiver?.close()
  await api?.close()
  await upstream?.close()
})

describe('a turn’s first callback attempt, made by the worker after its commit', () => {
  it('arrives signed and verifiable with no webhooks service running; nothing is left pending', async () => {
    const res = await post('/turns', { assistant_id: assistantId, content: 'direct', callback_url: receiver.url })
    expect(res.status).toBe(202)
    // Only the worker can have sent it: no dispatcher runs.
    await expect.poll(() => turnEvents(res.body.thread_id).length, { timeout: 20_000 }).toBe(1)
    const event = await verify(turnEvents(res.body.thread_id)[0]!)
    expect(event).toMatchObject({ object: 'event', type: 'thread.turn.completed' })
    expect(event.data.turn.id).toBe(res.body.id)
    expect(event.data.messages[0].content[0].text.value).toBe('Echo: direct [context: 1 messages]')
    // Recorded as any first attempt, and its outbox entry acknowledged.
    await expect
      .poll(async () => (await attemptsOf(res.body.thread_id)).map((d) => [d.attempt, d.trigger, d.status]), { timeout: 10_000 })
      .toEqual([[1, 'event', 'succeeded']])
    await expect.poll(pendingEntries, { timeout: 10_000 }).toEqual([])
    expect(await api.redis.exists(api.stores.keys.webhookFifo(0, 'callback', res.body.thread_id))).toBe(0)
  })

  it('a failing receiver: the worker’s attempt fails, the webhooks service retries on the normal schedule, same webhook-id', async () => {
    const thread = await client.beta.threads.create()
    receiver.answer((r) => (r.event.data?.turn?.thread_id === thread.id ? 503 : 200))
    const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistantId, content: 'failing', callback_url: receiver.url })
    // The first attempt is the worker's (no dispatcher yet), recorded with its retry time.
    await expect.poll(async () => (await attemptsOf(res.body.thread_id)).length, { timeout: 20_000 }).toBe(1)
    const [first] = await attemptsOf(res.body.thread_id)
    expect(first).toMatchObject({ attempt: 1, trigger: 'event', status: 'failed', response_status_code: 503 })
    expect(first.next_attempt_at).not.toBeNull()
    await startWebhooks()
    await expect.poll(async () => (await attemptsOf(res.body.thread_id)).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3)
    receiver.answer(() => 200)
    await expect.poll(() => turnEvents(res.body.thread_id).length, { timeout: 20_000 }).toBe(1)
    const delivered = turnEvents(res.body.thread_id)[0]!
    await verify(delivered)
    const attempts = await attemptsOf(res.body.thread_id)
    expect(attempts.map((d) => d.attempt)).toEqual(attempts.map((_, i) => i + 1))
    expect(attempts.every((d) => d.event_id === delivered.headers['webhook-id'])).toBe(true)
    expect(attempts.at(-1)).toMatchObject({ status: 'succeeded' })
  })

  it('a worker SIGKILLed while the receiver holds its attempt: the webhooks service sends it again, same webhook-id', async () => {
    await startWebhooks()
    const thread = await client.beta.threads.create()
    receiver.answer((r) => (r.event.data?.turn?.thread_id === thread.id && receiver.held.length === 0 ? 'hold' : 200))
    const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistantId, content: 'killed', callback_url: receiver.url })
    await expect.poll(() => receiver.held.length, { timeout: 20_000 }).toBe(1)
    const heldId = receiver.held[0]!.headers['webhook-id']
    receiver.answer(() => 200)
    worker!.kill('SIGKILL')
    await worker!.exited
    // The held request was the worker's: its connection went with it.
    await expect.poll(() => receiver.held[0]!.closed, { timeout: 5_000 }).toBe(true)
    // Claimed after WEBHOOK_RECLAIM_IDLE_MS (2 s) and sent again.
    await expect.poll(() => turnEvents(res.body.thread_id).length, { timeout: 30_000 }).toBe(1)
    const again = turnEvents(res.body.thread_id)[0]!
    expect(again.headers['webhook-id']).toBe(heldId)
    expect((await verify(again)).data.turn.id).toBe(res.body.id)
    await expect.poll(pendingEntries, { timeout: 10_000 }).toEqual([])
    receiver.held.length = 0
    await startWorker()
  }, 120_000)

  it('consecutive turns of a thread with a slow receiver: callbacks in turn order, each once', async () => {
    await startWebhooks()
    // Each answer takes 300 ms: the thread's next turns end while its callback is in flight.
    receiver.answer(() => new Promise((r) => setTimeout(() => r(200), 300)))
    const thread = await client.beta.threads.create()
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) {
      const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistantId, content: `q${i}`, callback_url: receiver.url })
      expect(res.status).toBe(202)
      ids.push(res.body.id)
    }
    await expect.poll(() => turnEvents(thread.id).length, { timeout: 30_000 }).toBe(5)
    const events = await Promise.all(turnEvents(thread.id).map(verify))
    expect(events.map((e) => e.data.turn.id)).toEqual(ids)
    // Each was taken by its commit, behind the thread's attempt still in flight, and sent by the
    // worker after it: none went the webhooks service's way (a job).
    const queue = new Queue(api.stores.keys.webhookQueue(0), { connection: api.redis, prefix: api.stores.keys.prefix })
    try {
      for (const e of events) expect(await queue.getJob(`${e.id}.callback`)).toBeUndefined()
    } finally {
      await queue.close()
    }
    expect((await attemptsOf(thread.id)).map((a) => a.attempt)).toEqual([1, 1, 1, 1, 1])
  }, 60_000)

  it('two worker processes: a thread’s next turn committed by the other one while its callback is in flight is taken behind it there, in order, no job', async () => {
    await startWebhooks()
    const second = await startServiceProcess('worker', {
      ...attemptEnv(),
      UPSTREAM_BASE_URL: upstream.baseURL,
      UPSTREAM_API_KEY: 'x',
      WORKER_LOCK_MS: '5000',
      WORKER_DIRECT_CALLBACKS: 'true',
    })
    try {
      // Each answer takes 200 ms; each turn is posted once the one before ended, so its drain goes
      // to either process (a new wake-up), mostly while the last callback is still in flight.
      receiver.answer(() => new Promise((r) => setTimeout(() => r(200), 200)))
      const threads = await Promise.all([1, 2, 3].map(() => client.beta.threads.create()))
      const ids = new Map<string, string[]>(threads.map((t) => [t.id, []]))
      await Promise.all(
        threads.map(async (thread) => {
          for (let i = 1; i <= 4; i++) {
            const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistantId, content: `q${i}`, callback_url: receiver.url })
            expect(res.status).toBe(202)
            ids.get(thread.id)!.push(res.body.id)
            await turnDone(thread.id, res.body.id)
          }
        }),
      )
      const committers = new Set<string>()
      const queue = new Queue(api.stores.keys.webhookQueue(0), { connection: api.redis, prefix: api.stores.keys.prefix })
      try {
        for (const thread of threads) {
          await expect.poll(() => turnEvents(thread.id).length, { timeout: 30_000 }).toBe(4)
          const events = await Promise.all(turnEvents(thread.id).map(verify))
          expect(events.map((e) => e.data.turn.id)).toEqual(ids.get(thread.id))
          for (const e of events) expect(await queue.getJob(`${e.id}.callback`)).toBeUndefined()
          expect((await attemptsOf(thread.id)).map((a) => a.attempt)).toEqual([1, 1, 1, 1])
        }
      } finally {
        await queue.close()
      }
      // Both processes committed turns (else this did not test the hand-over between them).
      for (const w of [worker!, second]) if (w.output.some((l) => l.includes('"msg":"run status"'))) committers.add(String(w.pid))
      expect(committers.size).toBe(2)
      expect(await pendingEntries()).toEqual([])
    } finally {
      second.kill('SIGTERM')
      await second.exited
    }
  }, 90_000)

  it('a turn whose callback was taken behind the thread’s attempt in flight, which then fails: it waits for that one’s retry (the webhooks service’s), in order', async () => {
    await startWebhooks()
    const thread = await client.beta.threads.create()
    let firstTurn: string | null = null
    let failed = false
    // The first turn's first attempt is held 300 ms (the next turns end meanwhile), then fails.
    receiver.answer((r) => {
      if (r.event.data?.turn?.id === firstTurn && !failed) {
        failed = true
        return new Promise((resolve) => setTimeout(() => resolve(500), 300))
      }
      return 200
    })
    const ids: string[] = []
    for (let i = 1; i <= 3; i++) {
      const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistantId, content: `q${i}`, callback_url: receiver.url })
      expect(res.status).toBe(202)
      ids.push(res.body.id)
      firstTurn ??= res.body.id
    }
    await expect.poll(() => turnEvents(thread.id).length, { timeout: 30_000 }).toBe(3)
    const events = await Promise.all(turnEvents(thread.id).map(verify))
    expect(events.map((e) => e.data.turn.id)).toEqual(ids)
    expect(failed).toBe(true)
    const attempts = await attemptsOf(thread.id)
    expect(attempts.filter((a) => a.status === 'failed')).toHaveLength(1)
  }, 60_000)

  it('an SSRF-forbidden callback: left to the webhooks service, which refuses and records it as ever, not retried', async () => {
    const res = await post('/turns', { assistant_id: assistantId, content: 'forbidden', callback_url: `http://127.0.0.2:${receiver.port}/hook` })
    expect(res.status).toBe(202)
    await turnDone(res.body.thread_id, res.body.id)
    // Not taken (the worker's guard refuses the address): unread until a dispatcher runs, nothing recorded.
    expect(await pendingEntries()).toEqual([])
    const groups = (await api.redis.xinfo('GROUPS', api.stores.keys.outbox(0))) as unknown[][]
    expect(groups.map((g) => g[g.indexOf('lag') + 1])).toEqual([1])
    expect(await attemptsOf(res.body.thread_id)).toEqual([])
    await startWebhooks()
    await expect.poll(async () => (await attemptsOf(res.body.thread_id)).length, { timeout: 20_000 }).toBe(1)
    const [refused] = await attemptsOf(res.body.thread_id)
    expect(refused).toMatchObject({ attempt: 1, trigger: 'event', status: 'failed', response_status_code: null, next_attempt_at: null })
    expect(refused.error).toMatch(/^ssrf_blocked: /)
    // The job that only fails (the dashboard's Failed), as ever.
    const queue = new Queue(api.stores.keys.webhookQueue(0), { connection: api.redis, prefix: api.stores.keys.prefix })
    try {
      await expect.poll(async () => (await queue.getJob(`${refused.event_id}.callback`))?.isFailed(), { timeout: 10_000 }).toBe(true)
    } finally {
      await queue.close()
    }
    await expect.poll(pendingEntries, { timeout: 10_000 }).toEqual([])
    expect(receiver.received.filter((r) => r.event.data?.turn?.thread_id === res.body.thread_id)).toEqual([])
  })

  it('an endpoint subscribed to the turn’s events: the commit leaves it to the webhooks service, as before', async () => {
    const endpointReceiver = await startReceiver()
    try {
      const endpoint = await post('/webhook_endpoints', { url: endpointReceiver.url, name: 'all turns', event_types: ['thread.turn.completed'] })
      expect(endpoint.status).toBe(200)
      const res = await post('/turns', { assistant_id: assistantId, content: 'subscribed', callback_url: receiver.url })
      await turnDone(res.body.thread_id, res.body.id)
      // Not taken by the worker: unread by any consumer until a dispatcher runs.
      expect(await pendingEntries()).toEqual([])
      const groups = (await api.redis.xinfo('GROUPS', api.stores.keys.outbox(0))) as unknown[][]
      const lag = groups.map((g) => g[g.indexOf('lag') + 1])
      expect(lag).toEqual([1])
      expect(turnEvents(res.body.thread_id)).toEqual([])
      await startWebhooks()
      await expect.poll(() => turnEvents(res.body.thread_id).length, { timeout: 20_000 }).toBe(1)
      await expect
        .poll(
          () => endpointReceiver.received.filter((r) => r.event.type === 'thread.turn.completed' && r.event.data.turn.thread_id === res.body.thread_id).length,
          {
            timeout: 20_000,
          },
        )
        .toBe(1)
    } finally {
      await endpointReceiver.close()
    }
  })
})
