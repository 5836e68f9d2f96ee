/**
 * Runs end to end: the real API in this process, a real worker process (services/worker/dist), the
 * fake upstream in a child process of its own, the official SDK as the client. Each figure is
 * printed beside a baseline measured in the same run, so machines compare by ratio:
 *
 * 1. create run → `completed` seen by the client (an instantly answering upstream; the client
 *    retrieves in a loop, as the seed tutorial does) vs the bare upstream call (SDK streaming chat
 *    completion against the fake) and a bare BullMQ add → completed (no-op Queue + Worker).
 * 2. `createAndPoll` wall time as the SDK does it (goal ≤ 300 ms).
 * 3. runs/s with 100 threads running runs back to back.
 * 4. with a 2 s streaming upstream: how many runs one worker process holds at once (peak in flight
 *    at the upstream) and the worker's peak RSS (/proc/<pid>/status VmRSS); goal ≥ 2,000 runs in
 *    ≤ 512 MB.
 *
 * Reported, never asserted. Needs the built worker (`pnpm bench` builds first).
 */
import { readFile } from 'node:fs/promises'
import { type ServiceProcess, startApiServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { bareBullMQ } from './baselines.js'
import { type ForkedUpstream, forkFakeUpstream } from './fake-upstream-process.js'
import { type Sample, measure, measureInterleaved, printTable, quantile } from './lib.js'

const N_LATENCY = 300
const N_POLL = 100
const THREADS = 100
const RUNS_PER_THREAD = 5
const CONCURRENT_RUNS = 2_000
/** The 2 s reply: 10 chunks, the first after 200 ms, then one every 200 ms. */
const SLOW_REPLY = { kind: 'text' as const, text: 'one two three four five six seven eight nine ten', firstTokenDelayMs: 200, interChunkDelayMs: 200 }

export async function run(): Promise<void> {
  const upstream = await forkFakeUpstream()
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('benchruns') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  const workers: ServiceProcess[] = []
  const startWorker = async (env: Record<string, string>) => {
    const w = await startServiceProcess('worker', { REDIS_PREFIX: api.prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x', ...env })
    workers.push(w)
    return w
  }
  try {
    await upstream.respond({ kind: 'text', text: 'ok' })
    await startWorker({ WORKER_CONCURRENCY: '200' })
    const assistant = await client.beta.assistants.create({ model: 'fake-model', instructions: 'Be brief.' })

    // 1. Latency of one run, beside its two irreducible parts.
    const direct = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 })
    const bull = await bareBullMQ(api.prefix)
    const runThread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const [bareUpstream, bareQueue, runLatency] = (await measureInterleaved(
      [
        ['baseline: SDK streaming chat completion → fake upstream', () => streamOnce(direct)],
        ['baseline: BullMQ add → completed (no-op worker)', () => bull.roundTrip()],
        ['create run → completed seen by the client', () => runToCompletion(client, runThread.id, assistant.id)],
      ],
      N_LATENCY,
      30,
    )) as [Sample, Sample, Sample]
    await bull.close()

    // 2. createAndPoll as a user calls it (the SDK sleeps what `openai-poll-after-ms` says).
    const pollThread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const createAndPoll = await measure(
      'createAndPoll (SDK defaults)',
      N_POLL,
      () => client.beta.threads.runs.createAndPoll(pollThread.id, { assistant_id: assistant.id }),
      10,
    )

    printTable(
      'runs: one run, instantly answering upstream (API in-process, 1 worker process)',
      [bareUpstream, bareQueue, runLatency, createAndPoll],
      [
        '',
        `create → completed vs bare upstream call: p50 ×${(runLatency.p50 / bareUpstream.p50).toFixed(1)}; vs bare BullMQ round trip: p50 ×${(runLatency.p50 / bareQueue.p50).toFixed(1)}`,
        `createAndPoll p50 ${createAndPoll.p50.toFixed(0)} ms, p99 ${createAndPoll.p99.toFixed(0)} ms (goal ≤ 300 ms; the API asks for a 50 ms poll interval)`,
      ],
    )

    // 3. Throughput: 100 threads, each running runs back to back (createAndPoll, SDK defaults: the
    //    API's 50 ms poll hint; a tighter poll mostly measures the polling, which shares this CPU).
    const threads = await Promise.all(Array.from({ length: THREADS }, () => client.beta.threads.create({ messages: [{ role: 'user', content: 'go' }] })))
    const t0 = performance.now()
    await Promise.all(
      threads.map(async (t) => {
        for (let i = 0; i < RUNS_PER_THREAD; i++) {
          const r = await client.beta.threads.runs.createAndPoll(t.id, { assistant_id: assistant.id })
          if (r.status !== 'completed') throw new Error(`run ${r.id} ended ${r.status}`)
        }
      }),
    )
    const seconds = (performance.now() - t0) / 1000
    const total = THREADS * RUNS_PER_THREAD
    console.log(
      `\n## runs: throughput\n\n${total} runs on ${THREADS} threads (one run at a time per thread) in ${seconds.toFixed(1)} s: ${(total / seconds).toFixed(0)} runs/s (1 worker process, WORKER_CONCURRENCY 200)`,
    )

    // 4. Concurrency: one fresh worker, 2,000 queued runs, a 2 s streaming reply each.
    for (const w of workers.splice(0)) {
      w.kill('SIGTERM')
      await w.exited
    }
    await concurrency(client, upstream, assistant.id, startWorker)
  } finally {
    for (const w of workers) w.kill('SIGKILL')
    await Promise.all(workers.map((w) => w.exited))
    await api.close()
    await upstream.close()
  }
}

/** One streamed completion read to the end, as the worker reads one. */
async function streamOnce(client: OpenAI): Promise<void> {
  const stream = await client.chat.completions.create({
    model: 'fake-model',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  for await (const _ of stream) {
    // drain
  }
}

/** Creates a run and retrieves it back to back until it is completed (the tutorial's loop). */
async function runToCompletion(client: OpenAI, threadId: string, assistantId: string): Promise<void> {
  let run = await client.beta.threads.runs.create(threadId, { assistant_id: assistantId })
  while (run.status !== 'completed') {
    run = await client.beta.threads.runs.retrieve(run.id, { thread_id: threadId })
    if (run.status !== 'completed' && run.status !== 'queued' && run.status !== 'in_progress') throw new Error(`run ${run.id} ended ${run.status}`)
  }
}

/** A no-op BullMQ Queue + Worker on the test Redis: what one job's add → completed costs at least. */

const vmRssMb = async (pid: number): Promise<number> => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

async function concurrency(
  client: OpenAI,
  upstream: ForkedUpstream,
  assistantId: string,
  startWorker: (env: Record<string, string>) => Promise<ServiceProcess>,
): Promise<void> {
  // Queued before the worker starts, so the worker's own start-up pace is what limits the peak.
  const createStart = performance.now()
  const runs: { id: string; thread_id: string }[] = []
  let i = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (i < CONCURRENT_RUNS) {
        i++
        runs.push(await client.beta.threads.createAndRun({ assistant_id: assistantId, thread: { messages: [{ role: 'user', content: 'take your time' }] } }))
      }
    }),
  )
  const createSeconds = (performance.now() - createStart) / 1000
  // reset() also restores the default reply: set the slow one after it.
  await upstream.reset()
  await upstream.respond(SLOW_REPLY)

  const worker = await startWorker({ WORKER_CONCURRENCY: String(CONCURRENT_RUNS + 500), LOG_LEVEL: 'info' })
  const idleRss = await vmRssMb(worker.pid)
  const started = performance.now()
  let peakRss = idleRss
  let peakInFlight = 0
  const rssSamples: number[] = []
  // Sampled in the background while the runs go through, until every run has ended.
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const rss = await vmRssMb(worker.pid)
      rssSamples.push(rss)
      peakRss = Math.max(peakRss, rss)
      peakInFlight = Math.max(peakInFlight, (await upstream.stats()).maxInFlight)
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  // The last upstream reply is not the last commit: read every run until none is still active.
  const statuses = new Map<string, number>()
  let active = runs
  while (active.length > 0 && performance.now() - started < 120_000) {
    const still: typeof runs = []
    for (let j = 0; j < active.length; j += 100) {
      const batch = await Promise.all(active.slice(j, j + 100).map((r) => client.beta.threads.runs.retrieve(r.id, { thread_id: r.thread_id })))
      for (const r of batch) {
        if (r.status === 'queued' || r.status === 'in_progress') still.push(r)
        else statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      }
    }
    active = still
    if (active.length) await new Promise((r) => setTimeout(r, 200))
  }
  const drainSeconds = (performance.now() - started) / 1000
  sampling = false
  await sampler
  if (active.length) statuses.set('still active', active.length)
  const completed = statuses.get('completed') ?? 0
  rssSamples.sort((a, b) => a - b)
  console.log(
    [
      '\n## runs: concurrency, one worker process, 2 s streaming upstream (10 chunks), fake upstream in its own process\n',
      `queued ${CONCURRENT_RUNS} runs (createAndRun, 50 clients) in ${createSeconds.toFixed(1)} s, then started one worker (WORKER_CONCURRENCY ${CONCURRENT_RUNS + 500})`,
      `peak runs in flight at the upstream: ${peakInFlight} (goal ≥ 2,000)`,
      `worker RSS: idle ${idleRss.toFixed(0)} MB, peak ${peakRss.toFixed(0)} MB, p50 while draining ${quantile(rssSamples, 0.5).toFixed(0)} MB (goal ≤ 512 MB)`,
      // Past the deadline some runs may still be going (a busy machine): say so, and count only the ended ones.
      active.length === 0
        ? `all ${CONCURRENT_RUNS} runs ended within ${drainSeconds.toFixed(1)} s of the worker being ready (${(CONCURRENT_RUNS / drainSeconds).toFixed(0)} runs/s)`
        : `NOT all runs ended: ${active.length} of ${CONCURRENT_RUNS} still active when the bench stopped waiting, ${drainSeconds.toFixed(1)} s after the worker was ready (${((CONCURRENT_RUNS - active.length) / drainSeconds).toFixed(0)} runs/s ended)`,
      `completed as the client sees them: ${completed}/${runs.length}${completed < runs.length ? ` (${[...statuses].map(([s, n]) => `${s} ${n}`).join(', ')})` : ''}`,
    ].join('\n'),
  )
}
