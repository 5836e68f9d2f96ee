/**
 * The built API, worker and webhooks dispatcher as an operator runs them: JSON logs that carry request, thread, run
 * and turn ids and never an API key, the upstream key or message text at info; Prometheus
 * `/metrics` on the API (queue depth and age, runs, HTTP) and on the worker's METRICS_PORT
 * (transitions, run duration, time to first token), and webhook attempts by outcome on the
 * dispatcher's METRICS_PORT.
 */
import { type Server, createServer } from 'node:http'
import { type FakeUpstream, type ServiceProcess, echoText, startFakeUpstream, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const API_KEY = 'sk-obs-SECRETKEY-7f3a9b2c'
const UPSTREAM_KEY = 'upstream-SECRET-4d8e1f'
const ADMIN_TOKEN = 'admin-SECRET-token-0123456789'
const SECRET_TEXT = 'PURPLE-ELEPHANT-CONTENT'
const SECRET_INSTRUCTIONS = 'TOPSECRET-INSTRUCTIONS-55'

let upstream: FakeUpstream
let api: ServiceProcess
let worker: ServiceProcess
let webhooks: ServiceProcess
let receiver: Server
const received: string[] = []
let receiverUrl: string
let apiUrl: string
let workerMetricsUrl: string
let client: OpenAI

const portFrom = (proc: ServiceProcess, msg: string) => {
  const line = proc.output.find((l) => l.includes(msg))
  return (JSON.parse(line!) as { port: number }).port
}

beforeAll(async () => {
  upstream = await startFakeUpstream()
  // One content chunk per reply: the first delta is the only one, so time to first token must see it.
  upstream.respond((req) => ({ kind: 'text', text: echoText(req.body), firstTokenDelayMs: 50, chunkSize: 1000 }))
  const prefix = uniquePrefix('obs')
  const common = { REDIS_PREFIX: prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: UPSTREAM_KEY, LOG_LEVEL: 'info' }
  api = await startServiceProcess(
    'api',
    { ...common, PORT: '0', HOST: '127.0.0.1', API_KEYS: `${API_KEY}:obs`, ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' },
    { readyMessage: 'api listening' },
  )
  worker = await startServiceProcess('worker', { ...common, METRICS_PORT: '0', WORKER_LOCK_MS: '4000' })
  apiUrl = `http://127.0.0.1:${portFrom(api, 'api listening')}`
  // Logged before 'worker ready'.
  workerMetricsUrl = `http://127.0.0.1:${portFrom(worker, 'worker metrics on /metrics')}/metrics`
  webhooks = await startServiceProcess(
    'webhooks',
    { ...common, METRICS_PORT: '0', WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' },
    { readyMessage: 'webhook dispatcher ready' },
  )
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push(body)
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
  client = new OpenAI({ baseURL: `${apiUrl}/v1`, apiKey: API_KEY, maxRetries: 0 })
}, 180_000)

afterAll(async () => {
  api?.kill('SIGTERM')
  worker?.kill('SIGTERM')
  webhooks?.kill('SIGTERM')
  await Promise.all([api?.exited, worker?.exited, webhooks?.exited])
  receiver?.close()
  await upstream?.close()
})

describe('observability', () => {
  it('logs ids but never keys or content, and exposes metrics on the API and the worker', async () => {
    const endpointRes = await fetch(`${apiUrl}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiverUrl, name: 'observability', event_types: ['thread.run.completed'] }),
    })
    expect(endpointRes.status).toBe(200)
    const signingSecret = ((await endpointRes.json()) as { signing_secret: string }).signing_secret
    expect(signingSecret).toMatch(/^whsec_/)
    const assistant = await client.beta.assistants.create({ model: 'fake-model', instructions: SECRET_INSTRUCTIONS })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: `${SECRET_TEXT} one` }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    const turnRes = await fetch(`${apiUrl}/v1/threads/${thread.id}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: `${SECRET_TEXT} two` }),
    })
    expect(turnRes.status).toBe(202)
    const turn = (await turnRes.json()) as { id: string; run_id: string }
    await expect
      .poll(
        async () =>
          (
            (await (await fetch(`${apiUrl}/v1/threads/${thread.id}/turns/${turn.id}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as {
              status: string
            }
          ).status,
        {
          timeout: 15_000,
        },
      )
      .toBe('completed')
    // A failed request too: a wrong key must not be echoed either.
    expect((await fetch(`${apiUrl}/v1/assistants`, { headers: { authorization: 'Bearer sk-wrong-SECRET-999999' } })).status).toBe(401)

    // Metrics. API: queue gauges computed from Redis, HTTP, runs.
    // Drains are wake-up stream entries, not BullMQ jobs (issue 14): none owed or held once both
    // ended (the worker lets go of a thread just after its last commit).
    const held = /threadwork_thread_wakeups\{shard="0",state="held"\} 0/
    await expect.poll(async () => (await fetch(`${apiUrl}/metrics`)).text(), { timeout: 10_000 }).toMatch(held)
    const apiMetrics = await (await fetch(`${apiUrl}/metrics`)).text()
    expect(apiMetrics).toContain('threadwork_redis_up 1')
    expect(apiMetrics).toContain('threadwork_thread_wakeups{shard="0",state="unread"} 0')
    expect(apiMetrics).toMatch(/threadwork_queue_jobs\{queue="drain-\{s0\}",state="failed"\} 0/)
    expect(apiMetrics).toContain('threadwork_queue_oldest_waiting_seconds{queue="webhooks-{s0}"} 0')
    expect(apiMetrics).toContain('threadwork_runs_created_total 1')
    expect(apiMetrics).toMatch(/threadwork_http_requests_total\{method="POST",route="\/v1\/threads\/:thread_id\/runs",status="200"\} 1/)
    expect(apiMetrics).toContain('threadwork_api_process_cpu_seconds_total')
    // Worker: transitions, durations and time to first token of both runs.
    const workerMetrics = await (await fetch(workerMetricsUrl)).text()
    expect(workerMetrics).toContain('threadwork_run_transitions_total{status="completed"} 2')
    expect(workerMetrics).toContain('threadwork_run_duration_seconds_count{outcome="completed"} 2')
    expect(workerMetrics).toContain('threadwork_run_time_to_first_token_seconds_count 2')
    expect(workerMetrics).toMatch(/threadwork_jobs_total\{queue="drain-\{s0\}",name="drain",outcome="completed"\} [1-9]/)

    // Webhooks: both runs' completion delivered, counted by outcome.
    await expect.poll(() => received.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2)
    const webhookMetrics = await (await fetch(`http://127.0.0.1:${portFrom(webhooks, 'webhooks metrics on /metrics')}/metrics`)).text()
    expect(webhookMetrics).toMatch(/threadwork_webhook_attempts_total\{outcome="delivered"\} [2-9]/)

    // Logs: JSON lines with ids.
    await expect.poll(() => worker.output.some((l) => l.includes(turn.run_id) && l.includes('"status":"completed"'))).toBe(true)
    // The API's log is buffered (written every 100 ms at most): wait for the last request's line.
    await expect.poll(() => api.output.some((l) => l.includes(`/v1/threads/${thread.id}/turns/${turn.id}`))).toBe(true)
    const apiLines = api.output.map((l) => JSON.parse(l) as Record<string, unknown>)
    const workerLines = worker.output.map((l) => JSON.parse(l) as Record<string, unknown>)
    const runRequest = apiLines.find((l) => l.msg === 'request' && l.method === 'POST' && l.path === `/v1/threads/${thread.id}/runs`)
    expect(runRequest).toMatchObject({ level: 30, service: 'api', threadId: thread.id, status: 200, requestId: expect.stringMatching(/^req_/) })
    expect(apiLines.find((l) => l.msg === 'request' && l.path === `/v1/threads/${thread.id}/turns/${turn.id}`)).toMatchObject({
      threadId: thread.id,
      turnId: turn.id,
    })
    expect(workerLines.find((l) => l.msg === 'run status' && l.runId === run.id && l.status === 'completed')).toMatchObject({ threadId: thread.id, level: 30 })
    expect(workerLines.find((l) => l.msg === 'run status' && l.runId === turn.run_id && l.status === 'completed')).toMatchObject({
      threadId: thread.id,
      turnId: turn.id,
    })

    // Provider errors by code: one retried (503, then an answer), one that fails its run (400).
    upstream.respondOnce({ kind: 'error', status: 503 })
    const retried = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'again' }] } },
      { pollIntervalMs: 100 },
    )
    expect(retried.status).toBe('completed')
    upstream.respondOnce({ kind: 'error', status: 400 })
    const refused = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'no' }] } },
      { pollIntervalMs: 100 },
    )
    expect(refused.status).toBe('failed')
    const errors = await (await fetch(workerMetricsUrl)).text()
    expect(errors).toContain('threadwork_upstream_errors_total{code="server_error",final="false"} 1')
    expect(errors).toContain(`threadwork_upstream_errors_total{code="${refused.last_error?.code}",final="true"} 1`)
    expect(errors).toContain('threadwork_run_transitions_total{status="failed"} 1')

    if (process.env.PEEK_LOGS) console.log([...api.output, ...worker.output].join('\n'))
    const everything = [...api.output, ...worker.output, ...webhooks.output].join('\n')
    for (const secret of [
      API_KEY,
      UPSTREAM_KEY,
      ADMIN_TOKEN,
      signingSecret,
      signingSecret.slice(6),
      SECRET_TEXT,
      SECRET_INSTRUCTIONS,
      'SECRET-999999',
      'Echo:',
    ]) {
      expect(everything).not.toContain(secret)
    }
  }, 180_000)
})
