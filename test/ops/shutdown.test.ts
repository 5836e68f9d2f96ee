/**
 * Graceful shutdown of the built services, as an orchestrator does it (SIGTERM, SIGINT):
 * - api: `/readyz` turns 503 at once while requests are still served for
 *   SHUTDOWN_READINESS_DELAY_MS (load balancers drain it), then the listener closes, a stream in
 *   flight still finishes, and the process exits 0;
 * - worker: stops taking jobs, finishes the run in hand, exits 0;
 * - webhooks: exits 0.
 */
import { type FakeUpstream, type ServiceProcess, echoText, startFakeUpstream, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const API_KEY = 'sk-shutdown-test-key'
let upstream: FakeUpstream
let prefix: string
const started: ServiceProcess[] = []
let common: Record<string, string>

async function startApi(env: Record<string, string> = {}) {
  const api = await startServiceProcess('api', { ...common, PORT: '0', HOST: '127.0.0.1', API_KEYS: `${API_KEY}:p`, ...env }, { readyMessage: 'api listening' })
  started.push(api)
  const port = (JSON.parse(api.output.find((l) => l.includes('api listening'))!) as { port: number }).port
  return { api, url: `http://127.0.0.1:${port}` }
}
async function startWorker(env: Record<string, string> = {}) {
  const w = await startServiceProcess('worker', { ...common, WORKER_LOCK_MS: '4000', ...env })
  started.push(w)
  return w
}

beforeAll(async () => {
  upstream = await startFakeUpstream()
  prefix = uniquePrefix('shut')
  common = { REDIS_PREFIX: prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x' }
})
afterAll(async () => {
  for (const p of started) p.kill('SIGKILL')
  await upstream?.close()
})

describe('graceful shutdown', () => {
  it('api: not ready first, still serving during the delay, then closes after in-flight streams and exits 0', async () => {
    const { api, url } = await startApi({ SHUTDOWN_READINESS_DELAY_MS: '1500' })
    const worker = await startWorker()
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: API_KEY, maxRetries: 0 })
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'take your time' }] })

    // A run streamed over SSE, slow enough to be in flight across the whole shutdown.
    upstream.respondOnce((req) => ({ kind: 'text', text: echoText(req.body), firstTokenDelayMs: 2500 }))
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id })
    const streamed = stream.finalRun()
    await expect.poll(() => upstream.requests.length, { timeout: 30_000 }).toBeGreaterThan(0)

    const signalledAt = Date.now()
    api.kill('SIGTERM')
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { interval: 20 }).toBe(503)
    const notReadyAt = Date.now()
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'shutting_down' })
    // Still accepting: the load balancer may not have noticed yet.
    const during = await fetch(`${url}/v1/assistants/${assistant.id}`, { headers: { authorization: `Bearer ${API_KEY}` } })
    expect(during.status).toBe(200)
    expect(during.headers.get('connection')).toBe('close')
    expect(Date.now() - signalledAt).toBeLessThan(1500)

    // After the delay the listener closes: new connections are refused…
    await expect
      .poll(
        async () =>
          fetch(`${url}/healthz`).then(
            () => 'open',
            () => 'refused',
          ),
        { timeout: 5_000, interval: 50 },
      )
      .toBe('refused')
    expect(Date.now() - notReadyAt).toBeGreaterThanOrEqual(1000)
    // …while the stream in flight still ends normally, with the run completed.
    const run = await streamed
    expect(run.status).toBe('completed')
    expect(await api.exited).toBe(0)
    expect(api.output.some((l) => l.includes('api stopped'))).toBe(true)
    worker.kill('SIGTERM')
    expect(await worker.exited).toBe(0)
  }, 180_000)

  it('worker: SIGTERM lets the run in hand finish, then exits 0', async () => {
    const { url } = await startApi()
    const worker = await startWorker()
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: API_KEY, maxRetries: 0 })
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'finish me' }] })
    upstream.respondOnce((req) => ({ kind: 'text', text: echoText(req.body), firstTokenDelayMs: 1500 }))
    const before = upstream.requests.length
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    await expect.poll(() => upstream.requests.length, { timeout: 30_000 }).toBe(before + 1)
    worker.kill('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect(worker.output.some((l) => l.includes('worker stopped'))).toBe(true)
    // Finished by the stopping worker itself: no other worker is running.
    const done = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })
    expect(done.status).toBe('completed')
    expect(upstream.requests.length).toBe(before + 1)
  }, 180_000)

  it('webhooks: SIGINT and SIGTERM exit 0', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const wh = await startServiceProcess('webhooks', common, { readyMessage: 'webhook dispatcher ready' })
      started.push(wh)
      wh.kill(signal)
      expect(await wh.exited).toBe(0)
    }
  }, 180_000)
})
