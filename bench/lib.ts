/** Small helpers shared by the `*.bench.ts` modules: timing, percentiles, a printed table. */

export interface Sample {
  name: string
  n: number
  /** Milliseconds. */
  p50: number
  p99: number
  mean: number
}

/** The q-quantile (0–1) of sorted values, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * Times `fn` `n` times, one call after another (latency, not throughput), after `warmup` untimed
 * calls that let JIT, connection pools and Redis script caches settle.
 */
export async function measure(name: string, n: number, fn: (i: number) => Promise<unknown>, warmup = Math.min(200, Math.ceil(n / 10))): Promise<Sample> {
  for (let i = 0; i < warmup; i++) await fn(i)
  const times = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    await fn(i)
    times[i] = Number(process.hrtime.bigint() - start) / 1e6
  }
  times.sort((a, b) => a - b)
  return { name, n, p50: quantile(times, 0.5), p99: quantile(times, 0.99), mean: times.reduce((s, t) => s + t, 0) / n }
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-')

/** Prints samples as an aligned table under a title. */
export function printTable(title: string, samples: readonly Sample[], notes: readonly string[] = []): void {
  const rows = [['benchmark', 'n', 'p50 ms', 'p99 ms', 'mean ms'], ...samples.map((s) => [s.name, String(s.n), ms(s.p50), ms(s.p99), ms(s.mean)])]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')
  console.log(`\n## ${title}\n`)
  console.log(line(rows[0]!))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows.slice(1)) console.log(line(r))
  for (const note of notes) console.log(note)
}

/**
 * Times several calls round-robin (a, b, c, a, b, c, …) so that load changes on a shared machine
 * hit each of them alike: use it for figures that are compared as a ratio.
 */
export async function measureInterleaved(
  cases: readonly [name: string, fn: () => Promise<unknown>][],
  n: number,
  warmup = Math.min(200, Math.ceil(n / 10)),
): Promise<Sample[]> {
  for (let i = 0; i < warmup; i++) for (const [, fn] of cases) await fn()
  const times = cases.map(() => new Array<number>(n))
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < cases.length; c++) {
      const start = process.hrtime.bigint()
      await cases[c]![1]()
      times[c]![i] = Number(process.hrtime.bigint() - start) / 1e6
    }
  }
  return cases.map(([name], c) => {
    const sorted = times[c]!.sort((a, b) => a - b)
    return { name, n, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean: sorted.reduce((s, t) => s + t, 0) / n }
  })
}

/**
 * `pnpm bench --scale <x>` (BENCH_SCALE): multiplies a bench's load sizes, e.g. 0.1 for a quick
 * look on a busy machine. Default 1.
 */
export function benchScale(): number {
  const x = Number(process.env.BENCH_SCALE ?? '1')
  return Number.isFinite(x) && x > 0 ? x : 1
}

/** `n` × {@link benchScale}, rounded, at least `min`. */
export const scaled = (n: number, min = 1): number => Math.max(min, Math.round(n * benchScale()))

/**
 * The worker's settings for its own first callback attempts (services/worker direct-callbacks.ts):
 * the webhooks service's egress allow-list (the benches' receivers listen on 127.0.0.1), and
 * WORKER_DIRECT_CALLBACKS passed through, so one build A/Bs the path (`false`: every callback
 * through the webhooks service).
 */
export const directCallbacksEnv = (): Record<string, string> => ({
  WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32',
  ...(process.env.WORKER_DIRECT_CALLBACKS ? { WORKER_DIRECT_CALLBACKS: process.env.WORKER_DIRECT_CALLBACKS } : {}),
})

/**
 * Turns run before a measured window (the cost bench's turn and skeleton windows, the turns bench's
 * latency samples), and as many raw BullMQ jobs before their baseline: `WARMUP_TURNS`, else 2,000,
 * whatever the scale. After only 200 (the cost bench's default until 1 Dec 2026) the API was still
 * being optimized by the JIT in the window (perf: two thirds of its main thread's samples in
 * baseline code, a third of its CPU on V8's compiler threads; its turn 0.67-0.83 ms against
 * 0.27-0.37 after 2,000): the figures are a long-running process's, as in production.
 */
export function warmupTurns(): number {
  return Number(process.env.WARMUP_TURNS ?? 2000)
}
