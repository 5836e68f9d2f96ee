/**
 * Turns end to end, as a backend uses them: POST a turn → receive its signed callback. The real
 * API in this process, one worker and one webhooks process (built services), an instantly answering
 * fake upstream in its own child process, and a local receiver that verifies every signature.
 * Beside it, measured in the same run: raw BullMQ add → completed, and raw BullMQ no-op throughput.
 *
 * Goals (issue 4): callback latency p50 ≤ 5 ms, p99 ≤ 25 ms; turns/s ≥ 50 % of raw BullMQ.
 * Reported, never asserted.
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServiceProcess, startApiServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { request } from 'undici'
import { bareBullMQ } from './baselines.js'
import { forkFakeUpstream } from './fake-upstream-process.js'
import { type Sample, directCallbacksEnv, measureInterleaved, printTable, warmupTurns } from './lib.js'

const N_LATENCY = 300
const THREADS = 200
const TURNS_PER_THREAD = 10

export async function run(): Promise<void> {
  const upstream = await forkFakeUpstream()
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('benchturns') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  const processes: ServiceProcess[] = []
  const waiting = new Map<string, () => void>()
  const arrived = new Set<string>()
  let verifier: Webhook | null = null
  let verifyFailures = 0
  const receiver: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      res.writeHead(200).end()
      try {
        const event = verifier!.verify(body, req.headers as Record<string, string>) as { type: string; data: { turn: { id: string } } }
        if (event.type.startsWith('thread.turn.')) {
          const done = waiting.get(event.data.turn.id)
          if (done) done()
          // The callback can arrive before the POST's answer has been read: kept for postTurn.
          else arrived.add(event.data.turn.id)
          waiting.delete(event.data.turn.id)
        }
      } catch {
        verifyFailures++
      }
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

  try {
    await upstream.respond({ kind: 'text', text: 'ok' })
    const common = { REDIS_PREFIX: api.prefix }
    processes.push(await startServiceProcess('worker', { ...common, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x', WORKER_CONCURRENCY: '200', ...directCallbacksEnv() }))
    processes.push(await startServiceProcess('webhooks', { ...common, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' }, { readyMessage: 'webhook dispatcher ready' }))
    const secret = ((await (await fetch(`${api.baseURL}/webhook_signing_secret`, { headers: { authorization: `Bearer ${api.apiKey}` } })).json()) as { signing_secret: string }).signing_secret
    verifier = new Webhook(secret)
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })

    const postTurn = async (threadId: string): Promise<void> => {
      // undici's request(), not fetch(): the baseline's client (ioredis) is a lean one, and fetch's
      // WHATWG layer cost ~0.3 ms more per POST in this process (C0 → the API's request event,
      // 655 → 323 µs; 1 Dec 2026), charged to the turn though no part of Threadwork's.
      const res = await request(`${api.baseURL}/threads/${threadId}/turns`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ assistant_id: assistant.id, content: 'hi', callback_url: callbackUrl }),
      })
      const turn = (await res.body.json()) as { id: string }
      // Without this check a callback that beat the POST's answer left the bench waiting forever.
      if (arrived.delete(turn.id)) return
      await new Promise<void>((resolve) => waiting.set(turn.id, resolve))
    }

    /** POSTs every turn of `work` (thread ids), 100 in flight, until each one's callback arrived. */
    const postAll = async (work: string[]): Promise<void> => {
      // 100 turns in flight at a time, like the baseline's 100 producers (2,000 at once overflow the listen backlog).
      await Promise.all(Array.from({ length: 100 }, async () => {
        for (let id = work.shift(); id; id = work.shift()) await postTurn(id)
      }))
    }

    // 0. Warm-up: the services and the baseline's queue are measured as long-running processes
    // (JIT-optimized, caches filled), each after the same number of units (lib.ts warmupTurns).
    const bull = await bareBullMQ(api.prefix)
    const warmThreads = await Promise.all(Array.from({ length: 100 }, () => client.beta.threads.create()))
    await postAll(Array.from({ length: warmupTurns() }, (_, k) => warmThreads[k % warmThreads.length]!.id))
    await bull.throughput(warmupTurns(), 100)

    // 1. Latency: one turn at a time on a fresh thread each, beside raw BullMQ's own round trip.
    const threads = await Promise.all(Array.from({ length: N_LATENCY + 30 }, () => client.beta.threads.create()))
    let i = 0
    const [bareQueue, turnLatency] = (await measureInterleaved(
      [
        ['baseline: BullMQ add → completed (no-op worker)', () => bull.roundTrip()],
        ['POST turn → verified callback received', () => postTurn(threads[i++]!.id)],
      ],
      N_LATENCY,
      30,
    )) as [Sample, Sample]
    await bull.close()
    printTable('turns: POST → signed callback, instantly answering upstream (1 worker, 1 webhooks process)', [bareQueue, turnLatency], [
      '',
      `callback latency p50 ${turnLatency.p50.toFixed(2)} ms, p99 ${turnLatency.p99.toFixed(2)} ms (first goals: p50 ≤ 5 ms, p99 ≤ 25 ms); ×${(turnLatency.p50 / bareQueue.p50).toFixed(1)} raw BullMQ's p50 (issue 14's goal: ≤ ×4)`,
      `signature verification failures: ${verifyFailures}`,
    ])

    // 2. Throughput: THREADS threads × TURNS_PER_THREAD turns, all POSTed at once, until every callback arrived.
    const many = await Promise.all(Array.from({ length: THREADS }, () => client.beta.threads.create()))
    const t0 = performance.now()
    await postAll(many.flatMap((t) => Array.from({ length: TURNS_PER_THREAD }, () => t.id)))
    const turnsPerSecond = (THREADS * TURNS_PER_THREAD) / ((performance.now() - t0) / 1000)
    const bullT = await bareBullMQ(uniquePrefix('benchnoop'), 50)
    const rawPerSecond = await bullT.throughput(THREADS * TURNS_PER_THREAD, 100)
    await bullT.close()
    console.log(`\n## turns: throughput (${THREADS} threads × ${TURNS_PER_THREAD} turns, 1 worker process)\n`)
    console.log(`end-to-end turns/s (POST → verified callback): ${turnsPerSecond.toFixed(0)}`)
    console.log(`baseline: raw BullMQ no-op add → completed, 100 in flight, c=50: ${rawPerSecond.toFixed(0)} jobs/s`)
    console.log(`ratio: ${((turnsPerSecond / rawPerSecond) * 100).toFixed(0)} % (issue 14's goal: ≥ 4 % of no-op jobs/s; the first goal was ≥ 50 %)`)
  } finally {
    for (const p of processes) p.kill('SIGTERM')
    await Promise.all(processes.map((p) => p.exited))
    await new Promise<void>((r) => receiver.close(() => r()))
    await api.close()
    await upstream.close()
  }
}
