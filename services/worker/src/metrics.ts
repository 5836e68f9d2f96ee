import type { Server } from 'node:http'
import { serveMetrics } from '@threadwork/logger'
import { type Stores, observeRunCommits } from '@threadwork/storage'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** What `observeLive` wraps: the worker's live-event appender (live-events.ts). */
interface LiveEmitter {
  emit: (threadId: string, runId: string, event: string, ...rest: never[]) => void
  emitAll: (threadId: string, runId: string, events: readonly { event: string }[], ...rest: never[]) => unknown
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired', 'incomplete'])
const FIRST_TOKEN_EVENTS = new Set(['thread.message.delta', 'thread.run.step.delta'])

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>

/**
 * The worker's Prometheus metrics, served on `METRICS_PORT` when set (each worker process is a
 * scrape target; queue-level gauges come from the API's `/metrics`, computed from Redis):
 * - `threadwork_run_transitions_total{status}`: run status changes this process committed;
 * - `threadwork_run_duration_seconds{outcome}`: from `in_progress` to a terminal status or
 *   `requires_action`, on this worker (one segment per model-driven stretch of the run);
 * - `threadwork_run_time_to_first_token_seconds`: from `in_progress` to the first streamed delta;
 * - `threadwork_upstream_errors_total{code,final}`: model-provider errors by code: `final="false"`
 *   for a call that is retried, `final="true"` for a run that failed on it;
 * - `threadwork_direct_callbacks_total{outcome}`: turn callbacks first attempted here, right after
 *   their commit (direct-callbacks.ts): delivered, retry, failed, queued, error;
 * - `threadwork_jobs_total{queue,name,outcome}` and `threadwork_runs_in_flight`.
 */
export function createWorkerMetrics(opts: { processMetrics?: boolean; inFlight?: () => number } = {}) {
  const registry = new Registry()
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'threadwork_worker_' })
  const transitions = new Counter({
    name: 'threadwork_run_transitions_total',
    help: 'Run status changes committed by this process, by new status.',
    labelNames: ['status'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'threadwork_run_duration_seconds',
    help: 'Run time on this worker, from in_progress to a terminal status or requires_action.',
    labelNames: ['outcome'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
  })
  const firstToken = new Histogram({
    name: 'threadwork_run_time_to_first_token_seconds',
    help: 'From in_progress to the first streamed text or tool-call delta.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  })
  const upstreamErrors = new Counter({
    name: 'threadwork_upstream_errors_total',
    help: 'Model-provider errors by code: final="false" retried, final="true" failed the run.',
    labelNames: ['code', 'final'],
    registers: [registry],
  })
  const jobs = new Counter({
    name: 'threadwork_jobs_total',
    help: 'BullMQ jobs finished by this process.',
    labelNames: ['queue', 'name', 'outcome'],
    registers: [registry],
  })
  const directCallbacks = new Counter({
    name: 'threadwork_direct_callbacks_total',
    help: 'Turn callbacks whose first attempt this process made itself after its commit (direct-callbacks.ts), by how it ended.',
    labelNames: ['outcome'],
    registers: [registry],
  })
  new Gauge({
    name: 'threadwork_runs_in_flight',
    help: 'Runs this process is driving now.',
    registers: [registry],
    collect() {
      this.set(opts.inFlight?.() ?? 0)
    },
  })

  /** runId → when this process moved it to in_progress (ms), and whether its first token was seen. */
  const started = new Map<string, { at: number; firstToken: boolean }>()

  return {
    registry,
    jobs,
    /** Counts the stores' run commits (transitions, durations, failures). */
    observeStores(stores: Stores): void {
      observeRunCommits(stores, ({ runId, plan, outcome }) => {
        const status = plan.run?.status
        if (!outcome.ok || !status) return
        transitions.inc({ status })
        if (status === 'in_progress') {
          if (!started.has(runId)) started.set(runId, { at: performance.now(), firstToken: false })
          // Runs handed back or taken over never end here: keep the map bounded.
          if (started.size > 10_000) started.delete(started.keys().next().value!)
          return
        }
        if (TERMINAL.has(status) || status === 'requires_action') {
          const s = started.get(runId)
          started.delete(runId)
          if (s) duration.observe({ outcome: status }, (performance.now() - s.at) / 1000)
        }
      })
    },
    /** For direct-callbacks.ts `onOutcome`. */
    directCallback(outcome: string): void {
      directCallbacks.inc({ outcome })
    },
    /** For the executor's `onUpstreamError`. */
    upstreamError(code: string, final: boolean): void {
      upstreamErrors.inc({ code, final: String(final) })
    },
    /** Watches a live-event emitter (single events and batches) for each run's first streamed delta. */
    observeLive<L extends LiveEmitter>(live: L): L {
      const seen = (runId: string, event: string) => {
        if (!FIRST_TOKEN_EVENTS.has(event)) return
        const s = started.get(runId)
        if (s && !s.firstToken) {
          s.firstToken = true
          firstToken.observe((performance.now() - s.at) / 1000)
        }
      }
      const emit = live.emit.bind(live)
      const emitAll = live.emitAll.bind(live)
      live.emit = ((threadId: string, runId: string, event: string, ...rest: never[]) => {
        seen(runId, event)
        return emit(threadId, runId, event, ...rest)
      }) as L['emit']
      live.emitAll = ((threadId: string, runId: string, events: readonly { event: string }[], ...rest: never[]) => {
        // Observed after the append is on its way: a run's first delta goes out with this call (issue 14).
        const appended = emitAll(threadId, runId, events as never, ...rest)
        for (const e of events) seen(runId, e.event)
        return appended
      }) as L['emitAll']
      return live
    },
    /** Serves `GET /metrics` on `port` (0 = any free port); resolves with the server. */
    serve: (port: number, host?: string): Promise<Server> => serveMetrics(registry, port, host),
  }
}
