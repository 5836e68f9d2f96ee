/**
 * Horizontal scaling of workers: the same turn load (many threads, a few turns each) through the
 * real API and 1, 2 and 4 worker processes (the built `services/worker`), each with the same fixed
 * concurrency, against a model that takes 500 ms per answer (the fake upstream in a process of its
 * own). LLM latency dominates, so throughput should grow with the number of processes:
 * goal: 4 processes ≥ 3.5× one. Reported, never asserted.
 */
import { type ServiceProcess, runTurnLoad, startApiServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { forkFakeUpstream } from './fake-upstream-process.js'

const MODEL_MS = 500
const CONCURRENCY = 8
const PROCESSES = [1, 2, 4]
/**
 * Eight times the slots of the largest setup: every worker always has a thread to drain, and the
 * start and the tail weigh little against the whole. The tail is up to one wave of threads (a
 * thread's turns take 3 × 500 ms): with four times the slots it was a quarter of the 4-process run
 * (measured ×3.27 then, ×3.50 with this size, one run each on the same 2-core machine), while the
 * 1-process run (16 waves, then 32) hardly moved.
 */
const THREADS = 8 * CONCURRENCY * Math.max(...PROCESSES)
const TURNS_PER_THREAD = 3

export async function run(): Promise<void> {
  const upstream = await forkFakeUpstream()
  await upstream.respond({ kind: 'text', text: 'ok', firstTokenDelayMs: MODEL_MS })
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('bscale') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  const rows: { processes: number; seconds: number; perSecond: number }[] = []
  try {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    for (const processes of PROCESSES) {
      // All settled: when one fails to start, the others are stopped instead of left running.
      const starts = await Promise.allSettled(
        Array.from({ length: processes }, () =>
          startServiceProcess(
            'worker',
            {
              REDIS_PREFIX: api.prefix,
              UPSTREAM_BASE_URL: upstream.baseURL,
              UPSTREAM_API_KEY: 'x',
              WORKER_CONCURRENCY: String(CONCURRENCY),
            },
            // Workers loading at once on a busy 2-core machine took over the default 90 s
            // (load average 22, 30 Nov 2026): the start-up is not what this bench measures.
            { timeoutMs: 300_000 },
          ),
        ),
      )
      const workers: ServiceProcess[] = starts.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
      const failed = starts.find((s) => s.status === 'rejected')
      if (failed) {
        for (const w of workers) w.kill('SIGKILL')
        await Promise.all(workers.map((w) => w.exited))
        throw failed.reason
      }
      try {
        // reset() also restores the default (instant) reply: set the 500 ms one again.
        await upstream.reset()
        await upstream.respond({ kind: 'text', text: 'ok', firstTokenDelayMs: MODEL_MS })
        const total = THREADS * TURNS_PER_THREAD
        const result = await runTurnLoad({
          baseURL: api.baseURL,
          apiKey: api.apiKey,
          assistantId: assistant.id,
          threads: THREADS,
          turnsPerThread: TURNS_PER_THREAD,
          timeoutMs: 300_000,
          // Polling 64 threads' status every few ms would compete with the workers for 2 cores.
          likelyDone: async () => (await upstream.stats()).completed >= total,
        })
        rows.push({ processes, seconds: result.elapsedMs / 1000, perSecond: result.total / (result.elapsedMs / 1000) })
      } finally {
        for (const w of workers) w.kill('SIGTERM')
        await Promise.all(workers.map((w) => w.exited))
      }
    }
  } finally {
    await api.close()
    await upstream.close()
  }

  const base = rows[0]!.perSecond
  const ideal = (p: number) => (p * CONCURRENCY * 1000) / MODEL_MS
  const table = [
    ['worker processes', 'concurrency each', 'turns', 'seconds', 'turns/s', 'ideal turns/s', 'speed-up vs 1'],
    ...rows.map((r) => [
      String(r.processes),
      String(CONCURRENCY),
      String(THREADS * TURNS_PER_THREAD),
      r.seconds.toFixed(2),
      r.perSecond.toFixed(1),
      ideal(r.processes).toFixed(1),
      `×${(r.perSecond / base).toFixed(2)}`,
    ]),
  ]
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)))
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')
  console.log(`\n## scaling: ${THREADS} threads × ${TURNS_PER_THREAD} turns, model ${MODEL_MS} ms per answer\n`)
  console.log(line(table[0]!))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of table.slice(1)) console.log(line(r))
  const four = rows.find((r) => r.processes === 4)
  if (four) console.log(`\n4 processes vs 1: ×${(four.perSecond / base).toFixed(2)} (goal ≥ 3.5)`)
}
