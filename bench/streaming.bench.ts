/**
 * `stream: true` runs.
 *
 * 1. Time to first token as the client sees it, against the model's own, in the same run: the
 *    real API in this process, one worker process, the fake upstream in this process answering
 *    after a fixed 40 ms (it records `startedAt` / `firstChunkAt` per request). For each run:
 *    client TTFT = first `thread.message.delta` received − POST sent; upstream TTFT =
 *    firstChunkAt − the upstream request's start. Overhead = the difference (API create + queue +
 *    worker pickup + prompt + relay); relay = first delta at the client − firstChunkAt
 *    (worker → Redis stream → API reader → SSE). Goal: overhead p50 ≤ 5 ms.
 *    Run twice: the model's whole reply at once after its first token (the instantly answering
 *    model of issue 14's measurements: the first delta's relay then shares the worker, Redis and
 *    the API with the rest of the reply and the run's commit), and paced like a hosted model's
 *    stream (a chunk every PACED_CHUNK_MS; the first delta travels alone).
 *    Beside it: the API's relay alone (an append to a run's live stream → the client reads it).
 * 2. Deltas/s through one API process: the built API in a child process (its CPU read from
 *    /proc), `STREAMS` concurrent `stream: true` runs, and this process appending worker-shaped
 *    deltas to their live streams (no worker: the API's relay alone is measured). Also the
 *    number of Redis connections the API reads them with.
 * Reported, never asserted.
 */
import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import {
  type ServiceProcess,
  TEST_REDIS_URL,
  deleteKeysWithPrefix,
  startApiServer,
  startFakeUpstream,
  startServiceProcess,
  uniquePrefix,
} from '@threadwork/test-utils'
import { keys } from '@threadwork/storage'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { type Sample, printTable, quantile } from './lib.js'

const N_TTFT = 200
const UPSTREAM_FIRST_TOKEN_MS = 40
/** ~100 chunks/s, a hosted model's pace (OpenAI's streams run at roughly 50–150 tokens/s). */
const PACED_CHUNK_MS = 10
const STREAMS = 1000
const DELTAS_PER_STREAM = 200

export async function run(): Promise<void> {
  await ttft(0)
  await ttft(PACED_CHUNK_MS)
  await relayLatency()
  await relayThroughput()
}

/** The API's share of the relay alone: one live-stream append → that event read by the client (no worker). */
async function relayLatency(): Promise<void> {
  const upstream = await startFakeUpstream()
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('benchsse') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  try {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const res = await fetch(`${api.baseURL}/threads/${thread.id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json', 'openai-beta': 'assistants=v2' },
      body: JSON.stringify({ assistant_id: assistant.id, stream: true }),
    })
    const reader = res.body!.getReader()
    await reader.read() // created + queued
    const runId = (await client.beta.threads.runs.list(thread.id)).data[0]!.id
    const key = api.stores.keys.runEvents(thread.id, runId)
    const data = JSON.stringify({ id: 'msg_x', object: 'thread.message.delta', delta: { content: [{ index: 0, type: 'text', text: { value: 'word ' } }] } })
    const times: number[] = []
    for (let i = 0; i < 2 * N_TTFT; i++) {
      const t = now()
      await api.redis.xadd(key, '*', 'event', 'thread.message.delta', 'data', data, 'fence', '1')
      await reader.read()
      if (i >= 20) times.push(now() - t)
      await new Promise((r) => setTimeout(r, 1))
    }
    await reader.cancel()
    printTable('streaming: the API relay alone (no worker; one stream)', [sample('XADD to the live stream → the event read by the client', times)])
  } finally {
    await api.close()
    await upstream.close()
  }
}

const now = () => performance.timeOrigin + performance.now()

function sample(name: string, values: number[]): Sample {
  const sorted = [...values].sort((a, b) => a - b)
  return { name, n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean: sorted.reduce((s, v) => s + v, 0) / sorted.length }
}

/** POSTs a stream request and resolves with the time its first message delta arrived, after reading it to the end. */
async function firstDeltaAt(url: string, apiKey: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'openai-beta': 'assistants=v2' },
    body: JSON.stringify(body),
  })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let seen = ''
  let first = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    if (first === 0) {
      seen += decoder.decode(value, { stream: true })
      if (seen.includes('event: thread.message.delta')) first = now()
    }
  }
  return first
}

/** `interChunkMs`: the fake model's gap between chunks after the first (0: the rest at once). */
async function ttft(interChunkMs: number): Promise<void> {
  const upstream = await startFakeUpstream()
  upstream.respond(() => ({ kind: 'text', text: 'one two three four five', firstTokenDelayMs: UPSTREAM_FIRST_TOKEN_MS, interChunkDelayMs: interChunkMs }))
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('benchsse') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  let worker: ServiceProcess | null = null
  try {
    worker = await startServiceProcess('worker', { REDIS_PREFIX: api.prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x' })
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const clientTtft: number[] = []
    const upstreamTtft: number[] = []
    const overhead: number[] = []
    const relay: number[] = []
    const httpBaseline: number[] = []
    const warmup = 20
    for (let i = 0; i < N_TTFT + warmup; i++) {
      const t = now()
      const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
      if (i >= warmup) httpBaseline.push(now() - t)
      upstream.reset() // (also resets the handler)
      upstream.respond(() => ({ kind: 'text', text: 'one two three four five', firstTokenDelayMs: UPSTREAM_FIRST_TOKEN_MS, interChunkDelayMs: interChunkMs }))
      const sent = now()
      const first = await firstDeltaAt(`${api.baseURL}/threads/${thread.id}/runs`, api.apiKey, { assistant_id: assistant.id, stream: true })
      const req = upstream.requests[0]!
      if (i < warmup) continue
      const c = first - sent
      const u = req.firstChunkAt! - req.startedAt
      clientTtft.push(c)
      upstreamTtft.push(u)
      overhead.push(c - u)
      relay.push(first - req.firstChunkAt!)
    }
    const ping: number[] = []
    for (let i = 0; i < N_TTFT; i++) {
      const t = now()
      await api.redis.ping()
      ping.push(now() - t)
    }
    const o = sample('  overhead = client − upstream', overhead)
    const r = sample('  relay: upstream first chunk → client first delta', relay)
    printTable(
      `streaming: time to first delta (sequential runs; upstream first token after ${UPSTREAM_FIRST_TOKEN_MS} ms, ${interChunkMs === 0 ? 'then the rest of the reply at once' : `then a chunk every ${interChunkMs} ms`}; 1 worker process)`,
      [
        sample('baseline: redis PING', ping),
        sample('baseline: thread create through the SDK (one HTTP write)', httpBaseline),
        sample('client TTFT (POST → first thread.message.delta)', clientTtft),
        sample('upstream TTFT (its request start → first chunk)', upstreamTtft),
        o,
        r,
      ],
      [
        '',
        `TTFT overhead p50 ${o.p50.toFixed(2)} ms, p99 ${o.p99.toFixed(2)} ms (first goal: p50 ≤ 5 ms)`,
        `relay p50 ${r.p50.toFixed(2)} ms: the client's first delta after the model's own first chunk (issue 14's goal: p50 ≤ 2 ms)`,
      ],
    )
  } finally {
    worker?.kill('SIGTERM')
    await worker?.exited
    await api.close()
    await upstream.close()
  }
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function relayThroughput(): Promise<void> {
  const prefix = uniquePrefix('benchsse')
  const k = keys(prefix)
  const redis = new Redis(TEST_REDIS_URL)
  const upstream = await startFakeUpstream() // only so the API serves `fake-model`; no worker calls it
  const port = await freePort()
  const apiKey = 'sk-bench-sse'
  const api = await startServiceProcess(
    'api',
    {
      REDIS_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEYS: `${apiKey}:bench`,
      UPSTREAM_BASE_URL: upstream.baseURL,
      UPSTREAM_API_KEY: 'x',
      DURABLE_WRITES: 'off',
    },
    { readyMessage: 'api listening' },
  )
  // 'api listening' comes before its Redis connection is ready.
  while ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status !== 200) await new Promise((r) => setTimeout(r, 50))
  const baseURL = `http://127.0.0.1:${port}/v1`
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 })
  try {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const threads = await Promise.all(Array.from({ length: STREAMS }, () => client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })))

    // Open every stream (runs stay queued: no worker), then find each run's live stream key.
    let received = 0
    const opened: Promise<void>[] = []
    const ends: Promise<void>[] = []
    for (const t of threads) {
      let onOpen!: () => void
      opened.push(new Promise<void>((r) => (onOpen = r)))
      ends.push(
        (async () => {
          const res = await fetch(`${baseURL}/threads/${t.id}/runs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'openai-beta': 'assistants=v2' },
            body: JSON.stringify({ assistant_id: assistant.id, stream: true }),
          })
          const reader = res.body!.getReader()
          const decoder = new TextDecoder()
          let carry = ''
          let isOpen = false
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            const text = carry + decoder.decode(value, { stream: true })
            if (!isOpen && text.includes('thread.run.queued')) {
              isOpen = true
              onOpen()
            }
            received += text.split('event: thread.message.delta\n').length - 1
            carry = text.slice(-40).includes('event: thread.message.delta\n') ? '' : text.slice(-40)
          }
        })(),
      )
    }
    await Promise.all(opened)
    const runs = await Promise.all(threads.map(async (t) => (await client.beta.threads.runs.list(t.id)).data[0]!))

    const clients = String(await redis.call('CLIENT', 'LIST')).split('\n')
    const sseConnections = clients.filter((l) => l.includes('name=threadwork-api-sse')).length
    const cpu0 = cpuSeconds(api.pid)
    const t0 = performance.now()
    // Worker-shaped deltas, round-robin over the streams, pipelined in batches.
    for (let d = 0; d < DELTAS_PER_STREAM; d++) {
      const p = redis.pipeline()
      for (const r of runs) {
        const data = JSON.stringify({
          id: 'msg_benchmarkbenchmarkbench',
          object: 'thread.message.delta',
          delta: { content: [{ index: 0, type: 'text', text: { value: `word${d} ` } }] },
        })
        p.xadd(k.runEvents(r.thread_id, r.id), '*', 'event', 'thread.message.delta', 'data', data, 'fence', '1')
      }
      await p.exec()
    }
    const p = redis.pipeline()
    for (const r of runs) p.xadd(k.runEvents(r.thread_id, r.id), '*', 'event', 'done', 'data', '[DONE]')
    await p.exec()
    const appended = performance.now()
    await Promise.all(ends)
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuSeconds(api.pid) - cpu0
    const total = STREAMS * DELTAS_PER_STREAM
    console.log(
      `\n## streaming: deltas through one API process (${STREAMS} concurrent streams × ${DELTAS_PER_STREAM} deltas, appended straight to the live streams)\n`,
    )
    console.log(
      `delivered ${received.toLocaleString('en')} of ${total.toLocaleString('en')} deltas in ${seconds.toFixed(2)} s (appending took ${((appended - t0) / 1000).toFixed(2)} s)`,
    )
    console.log(
      `deltas/s through the API: ${(received / seconds).toFixed(0)}; API CPU ${cpu.toFixed(2)} s (${((cpu / seconds) * 100).toFixed(0)} % of one core) → ${(received / cpu).toFixed(0)} deltas per CPU-second`,
    )
    console.log(`Redis connections reading the ${STREAMS} streams: ${sseConnections} (shared blocking XREAD readers, 256 streams each)`)
  } finally {
    api.kill('SIGTERM')
    await api.exited
    await upstream.close()
    await deleteKeysWithPrefix(redis, prefix)
    redis.disconnect()
  }
}
