import type { Logger } from '@threadwork/logger'
import type { DeliverySlots, Keys, RedisClient, WebhookEndpointStore } from '@threadwork/storage'
import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq'
import { type Attempt, type DeliveryJob, resolveTarget } from '@threadwork/webhook-delivery'
import { THROTTLED_PRIORITY, parkedWaitMs } from './fairness.js'
import { type FifoDeps, fifoMember, gate, isHead, release } from './fifo.js'

export interface DeliveryDeps {
  redis: RedisClient
  keys: Keys
  endpoints: WebhookEndpointStore
  /** The shard queues, indexed by shard (for the FIFO's head lookups and promotes). */
  queues: readonly Queue<DeliveryJob>[]
  log: Logger
  /** One attempt and its bookkeeping (attempt.ts). */
  attempt: Attempt
  /** Per attempt: the slot lease is this plus 10 s. */
  timeoutMs: number
  fifoRecheckMs: number
  fifoMaxWaitMs: number
  /** In-flight slots under the per-project and per-target limits (fairness.ts). */
  slots: DeliverySlots
  projectConcurrency: number
  endpointConcurrency: number
}

/**
 * The BullMQ processor of a delivery job: one attempt per run. A failed attempt that may be
 * retried puts the job back in `delayed` (`moveToDelayed` + `DelayedError`, so BullMQ's own
 * attempt count is untouched) until the schedule — or a longer `retry-after` — says. Every attempt
 * is recorded. Secrets are read here, per attempt, and never logged.
 */
export function createDeliveryProcessor(deps: DeliveryDeps) {
  const { endpoints, log, attempt } = deps
  const deliveries = endpoints.deliveries

  /**
   * One attempt per run, once the job may send: its event and endpoint still there, its turn in
   * its (target, thread) FIFO, its endpoint not paused. Only then does it take an in-flight slot
   * under its project's and its target's limits (fairness.ts): a job waiting its turn holds none.
   * No slot free: the job parks in `delayed` until one it can use frees (its target's, or when
   * the project's limit refused it, any of the project's), yielding to other projects' fresh
   * jobs; nothing polls.
   */
  return async function deliver(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const d = job.data
    const slotMember = job.id ?? `${d.evt}.${d.target}`
    // A first attempt that already failed for good (first-attempts.ts) only needs its job to fail,
    // so it shows under Failed in the dashboard; a Retry there then sends it once more.
    if (d.failedFirst) {
      const reason = d.failedFirst
      await job.updateData({ ...d, failedFirst: undefined })
      throw new UnrecoverableError(reason)
    }
    const queue = deps.queues[d.shard]
    if (!queue) throw new Error(`no queue for shard ${d.shard}`)
    const fifo: FifoDeps = {
      redis: deps.redis,
      queue,
      outboxKey: deps.keys.outbox(d.shard),
      recheckMs: deps.fifoRecheckMs,
      maxWaitMs: deps.fifoMaxWaitMs,
    }
    const ordered = d.entryId !== null && d.thread !== null
    const fifoKey = ordered ? deps.keys.webhookFifo(d.shard, d.target, d.thread!) : ''
    const member = ordered ? fifoMember(d.entryId!, d.evt, d.sub) : ''
    const done = async (why: string) => {
      if (ordered) await release(fifo, fifoKey, member, d.target)
      return why
    }
    const ctx = { jobId: job.id, evt: d.evt, target: d.target, project: d.project }

    // Where to, and signed with what. Read now: the endpoint may have changed since the event.
    const event = await deliveries.getEvent(d.project, d.evt)
    const to = await resolveTarget(endpoints, { project: d.project, target: d.target, trigger: d.trigger, event })
    if (typeof to === 'string') {
      if (to === 'endpoint_disabled') log.info(ctx, 'webhook skipped: endpoint disabled')
      if (to === 'event_expired') log.warn(ctx, 'webhook dropped: event no longer retained')
      return done(to)
    }

    if (ordered && !d.exhausted) {
      const decision = await gate(fifo, fifoKey, member, d.target)
      if (decision.kind === 'done') return 'already_handled'
      if (decision.kind === 'wait') {
        await job.moveToDelayed(Date.now() + decision.ms, token)
        // The head may have been released between our look and our move to `delayed`; its
        // release only promotes a successor that is already delayed. Looking again now closes
        // that gap: either we see we are the head, or the release sees us delayed.
        if (decision.behind && (await isHead(deps.redis, fifoKey, member))) await job.promote().catch(() => undefined)
        throw new DelayedError()
      }
    }

    // A paused endpoint's events wait out the pause (no attempt, no slot); a test still goes.
    if (to.pausedUntilS !== null && to.pausedUntilS * 1000 > Date.now() && d.trigger !== 'test') {
      await job.moveToDelayed(to.pausedUntilS * 1000 + Math.round(Math.random() * 1000), token)
      throw new DelayedError()
    }

    // The slot comes last: taken before the gate, it was held by every job that only looked at
    // its FIFO and went back to sleep, and under load (a look is several round trips) the waiting
    // jobs of a busy target held its slots among them while the FIFOs' heads, the only jobs that
    // could send, parked for want of one (the packed-entries test at load 26: a head parked and
    // woken ~40 times over 64 s with the target's 10 slots busy).
    const slot = await deps.slots.acquire({
      project: d.project,
      target: d.target,
      member: slotMember,
      projectLimit: deps.projectConcurrency,
      targetLimit: deps.endpointConcurrency,
      leaseMs: deps.timeoutMs + 10_000,
    })
    if (slot !== 'taken') {
      // Yield to other projects' fresh jobs from now on (BullMQ serves `wait` before prioritized),
      // and sleep until a slot we can use frees: a release wakes the longest-parked job waiting for
      // its target, else for its project.
      if (!job.priority) await job.changePriority({ priority: THROTTLED_PRIORITY }).catch(() => undefined)
      const parkedFor = slot === 'target_busy' ? d.target : undefined
      await deps.slots.park(d.project, slotMember, parkedFor)
      await job.moveToDelayed(Date.now() + parkedWaitMs(), token)
      // Look again now that we are asleep: a slot may have freed between our look and our park
      // (nobody popped us), or a release popped us before we were asleep (its wake found us
      // active and did nothing). Either way nobody else will wake us before the safety wait.
      const [stillParked, busy] = await Promise.all([
        deps.slots.isParked(d.project, slotMember, parkedFor),
        slot === 'project_busy' ? deps.slots.inFlight(d.project) : deps.slots.inFlight(d.project, d.target),
      ])
      if (!stillParked || busy < (slot === 'project_busy' ? deps.projectConcurrency : deps.endpointConcurrency)) await job.promote().catch(() => undefined)
      throw new DelayedError()
    }
    // A job that parked before and got its slot some other way (its safety wait, its FIFO's
    // hand-off) leaves the parked lists, or a later release would pop it, wake nothing, and leave
    // a job that does wait asleep for its safety wait.
    if (job.priority) await deps.slots.unpark(d.project, d.target, slotMember).catch(() => undefined)

    // The record gives the slot back (one script with the attempt's bookkeeping) and pops the
    // parked job to wake. (An attempt that fails on Redis leaves the slot to its lease.)
    const { result, woken } = await attempt({
      project: d.project,
      evt: d.evt,
      target: d.target,
      trigger: d.trigger,
      tries: d.tries,
      event: event!,
      to,
      slotMember,
    })
    if (woken) await wakeParked(woken, d.shard).catch(() => undefined)
    if (result.kind === 'test') return result.outcome
    if (result.kind === 'retry') {
      await job.updateData({ ...d, tries: result.tries, retryAt: result.retryAt })
      await job.moveToDelayed(result.retryAt, token)
      throw new DelayedError()
    }
    const final = await done(result.final)
    if (final === 'exhausted' || final === 'give_up') {
      // Failed for good: the job fails, so operators see it in the dashboard and can retry it there.
      await job.updateData({ ...d, tries: result.tries, retryAt: null, exhausted: true })
      throw new UnrecoverableError(`delivery ${final}: ${result.error ?? `http_${result.status}`}`)
    }
    return final
  }

  /** Wakes a parked job (popped from a parked list of the project), if it is still waiting in `delayed`. */
  async function wakeParked(id: string, shard: number): Promise<void> {
    const next = await deps.queues[shard]?.getJob(id)
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
  }
}
