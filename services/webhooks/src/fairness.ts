/**
 * Fairness between tenants in webhook delivery (issue 13, item 2). One project's slow or dead
 * receivers must not hold the dispatcher's shared attempt slots (`WEBHOOK_CONCURRENCY`):
 * - every attempt takes an in-flight slot under two limits shared by all dispatcher processes:
 *   `WEBHOOK_PROJECT_CONCURRENCY` per project and `WEBHOOK_ENDPOINT_CONCURRENCY` per target; a job
 *   that finds its project or target full parks in `delayed` (demoted below fresh jobs) until a
 *   released slot of its project wakes it, without an attempt and without holding a slot, so
 *   other projects' jobs go by;
 * - an endpoint whose last `WEBHOOK_PAUSE_AFTER_FAILURES` attempts all failed is paused (shown as
 *   `paused_until` / `paused_reason`) for a time that doubles with each further round of failures,
 *   from 30 s up to 1 h, instead of being retried at full rate; its events wait, none is dropped.
 */

/** Defaults: a project may use a quarter of one process's default 100 slots; an endpoint a tenth. */
export const DEFAULT_PROJECT_CONCURRENCY = 25
export const DEFAULT_ENDPOINT_CONCURRENCY = 10
export const DEFAULT_PAUSE_AFTER_FAILURES = 5

// The pause of a failing endpoint is decided with each attempt's record (@threadwork/webhook-delivery, attempt.ts).
export { FIRST_PAUSE_MS, MAX_PAUSE_MS, pauseMs } from '@threadwork/webhook-delivery'

/**
 * How long a parked job (no slot free) sleeps if no released slot wakes it first: 30 s ±25 %.
 * Only a lost wake-up (a dispatcher killed between release and wake) ever waits this long.
 */
export const parkedWaitMs = (random: () => number = Math.random) => Math.round(30_000 * (0.75 + 0.5 * random()))

/**
 * BullMQ priority of a job that had to wait for a slot. BullMQ takes jobs without a priority (the
 * `wait` list) before prioritized ones, so a throttled project's jobs yield to every fresh job of
 * other projects, and run whenever the queue has nothing fresher.
 */
export const THROTTLED_PRIORITY = 1

/** Spacing of a throttled fan-out's jobs: 50 a second beyond the project's free slots. */
export const FAN_OUT_PACE_MS = 20

/**
 * At fan-out: of each project's new jobs in a batch, those beyond the project's free in-flight
 * slots start throttled (THROTTLED_PRIORITY, paced out in `delayed`), so one event
 * fanned out to 100 endpoints does not put 100 fresh jobs ahead of every other project's next
 * event. Mutates the jobs' `opts`.
 */
export async function throttleFanOut(
  jobs: readonly { data: { project: string; trigger: string }; opts: { priority?: number; delay?: number } }[],
  inFlight: (project: string) => Promise<number>,
  projectLimit: number,
): Promise<void> {
  const projects = [...new Set(jobs.map((j) => j.data.project))]
  const busy = new Map(await Promise.all(projects.map(async (p) => [p, await inFlight(p)] as const)))
  const queued = new Map<string, number>()
  for (const job of jobs) {
    if (job.data.trigger === 'test') continue
    const n = queued.get(job.data.project) ?? 0
    queued.set(job.data.project, n + 1)
    const excess = n + (busy.get(job.data.project) ?? 0) - projectLimit
    if (excess >= 0) {
      // They could not get a slot now anyway: paced out (FAN_OUT_PACE_MS apart, up to 30 s) rather
      // than all waking at once, and already yielding to other projects.
      job.opts.priority = THROTTLED_PRIORITY
      job.opts.delay = Math.min(30_000, excess * FAN_OUT_PACE_MS) + Math.round(Math.random() * 250)
    }
  }
}
