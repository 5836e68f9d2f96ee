import type { Logger } from '@threadwork/logger'
import { CALLBACK_OWNER, type DeliverySlots, type Keys, type RedisClient, type WebhookEndpointStore, activeSecrets } from '@threadwork/storage'
import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq'
import type { Dispatcher } from 'undici'
import { buildWebhookHeaders, classifyOutcome, nextDelayMs, sendWebhook, shouldDisableEndpoint } from './delivery/index.js'
import { THROTTLED_PRIORITY, parkedWaitMs, pauseMs } from './fairness.js'
import { type FifoDeps, fifoMember, gate, isHead, release } from './fifo.js'
import type { DeliveryJob } from './jobs.js'

export interface DeliveryDeps {
  redis: RedisClient
  keys: Keys
  endpoints: WebhookEndpointStore
  /** The shard queues, indexed by shard (for the FIFO's head lookups and promotes). */
  queues: readonly Queue<DeliveryJob>[]
  /** The SSRF-guarded HTTP dispatcher. */
  http: Dispatcher
  log: Logger
  /** Delay before each attempt, from the first; its length is the attempt count. */
  schedule: readonly number[]
  timeoutMs: number
  fifoRecheckMs: number
  fifoMaxWaitMs: number
  /** Called after every attempt (metrics); must not throw. */
  onAttempt?: (attempt: { outcome: string; status: number | null; latencyMs: number }) => void
  /** In-flight slots under the per-project and per-target limits (fairness.ts). */
  slots: DeliverySlots
  projectConcurrency: number
  endpointConcurrency: number
  /** Consecutive failed attempts that pause an endpoint (fairness.ts). */
  pauseAfterFailures: number
}

/**
 * The BullMQ processor of a delivery job: one attempt per run. A failed attempt that may be
 * retried puts the job back in `delayed` (`moveToDelayed` + `DelayedError`, so BullMQ's own
 * attempt count is untouched) until the schedule — or a longer `retry-after` — says. Every attempt
 * is recorded. Secrets are read here, per attempt, and never logged.
 */
export function createDeliveryProcessor(deps: DeliveryDeps) {
  const { endpoints, log } = deps
  const deliveries = endpoints.deliveries

  /**
   * Fairness first (fairness.ts): an attempt needs a slot under its project's and its target's
   * in-flight limits. Full: the job parks in `delayed` until a slot of its project frees, yielding
   * to other projects' fresh jobs — nothing else is read, and nothing polls.
   */
  return async function deliver(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const d = job.data
    const slotMember = job.id ?? `${d.evt}.${d.target}`
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
      // and sleep until a slot of this project frees (release wakes the longest-parked job).
      if (!job.priority) await job.changePriority({ priority: THROTTLED_PRIORITY }).catch(() => undefined)
      await deps.slots.park(d.project, slotMember)
      await job.moveToDelayed(Date.now() + parkedWaitMs(), token)
      // A slot may have freed between our look and our park: then nobody will wake us; look again.
      const busy = slot === 'project_busy' ? await deps.slots.inFlight(d.project) : await deps.slots.inFlight(d.project, d.target)
      if (busy < (slot === 'project_busy' ? deps.projectConcurrency : deps.endpointConcurrency)) await job.promote().catch(() => undefined)
      throw new DelayedError()
    }
    try {
      return await deliverHoldingSlot(job, token)
    } finally {
      await deps.slots.release(d.project, d.target, slotMember).catch(() => undefined)
      await wakeParked(d.project, d.shard).catch(() => undefined)
    }
  }

  /** Wakes the project's longest-parked job, if it is still waiting in `delayed`. */
  async function wakeParked(project: string, shard: number): Promise<void> {
    const id = await deps.slots.unparkOne(project)
    if (!id) return
    const next = await deps.queues[shard]?.getJob(id)
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
  }

  async function deliverHoldingSlot(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const d = job.data
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
    const member = ordered ? fifoMember(d.entryId!, d.evt) : ''
    const done = async (why: string) => {
      if (ordered) await release(fifo, fifoKey, member, d.target)
      return why
    }
    const ctx = { jobId: job.id, evt: d.evt, target: d.target, project: d.project }

    // Where to, and signed with what. Read now: the endpoint may have changed since the event.
    const event = await deliveries.getEvent(d.project, d.evt)
    let url: string | null = null
    let secrets: string[] = []
    let pausedUntilS: number | null = null
    if (d.target === CALLBACK_OWNER) {
      url = event?.callbackUrl ?? null
      secrets = activeSecrets(await endpoints.signingSecret.ensure(d.project))
    } else {
      const target = await endpoints.target(d.project, d.target)
      if (!target) return done('endpoint_deleted')
      if (target.endpoint.status !== 'enabled' && d.trigger !== 'test') {
        log.info(ctx, 'webhook skipped: endpoint disabled')
        return done('endpoint_disabled')
      }
      url = target.endpoint.url
      secrets = target.secrets
      pausedUntilS = target.endpoint.paused_until ?? null
    }
    if (!event || !url) {
      log.warn(ctx, 'webhook dropped: event no longer retained')
      return done('event_expired')
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
    if (pausedUntilS !== null && pausedUntilS * 1000 > Date.now() && d.trigger !== 'test') {
      await job.moveToDelayed(pausedUntilS * 1000 + Math.round(Math.random() * 1000), token)
      throw new DelayedError()
    }
    const attempt = await deliveries.nextAttemptNumber(d.project, d.evt, d.target)
    const tries = d.tries + 1
    // Same webhook-id (the event id) and body on every attempt; a fresh timestamp and signature.
    const headers = buildWebhookHeaders({ secrets, msgId: d.evt, timestamp: new Date(), body: event.body })
    const result = await sendWebhook({ url, headers, body: event.body, dispatcher: deps.http, timeoutMs: deps.timeoutMs })
    const outcome = classifyOutcome(result)
    const isEndpoint = d.target !== CALLBACK_OWNER

    const delay = outcome === 'retry' && d.trigger !== 'test' ? nextDelayMs(tries, result.retryAfterMs, Math.random, deps.schedule) : null
    const retryAt = delay === null ? null : Date.now() + delay
    // Tests never move the failure streak: a probe must not disable an endpoint.
    const streak = d.trigger === 'test' || !isEndpoint ? 'none' : result.ok ? 'success' : 'failure'
    const recorded = await deliveries.record(
      d.project,
      d.target,
      {
        webhook_endpoint_id: isEndpoint ? d.target : null,
        url,
        event_id: d.evt,
        event_type: event.type,
        thread_id: event.thread,
        attempt,
        trigger: d.trigger,
        status: result.ok ? 'succeeded' : 'failed',
        response_status_code: result.status,
        latency_ms: result.latencyMs,
        error: result.error,
        next_attempt_at: retryAt === null ? null : Math.ceil(retryAt / 1000),
      },
      streak,
    )
    log.info({ ...ctx, attempt, status: result.status, error: result.error, latencyMs: result.latencyMs, outcome }, 'webhook attempt')
    deps.onAttempt?.({ outcome, status: result.status, latencyMs: result.latencyMs })

    // A test's outcome is its entry in the delivery log (recorded above); the API answered at once.
    if (d.trigger === 'test') return outcome
    if (isEndpoint && recorded === null) return done('endpoint_deleted')

    if (isEndpoint && outcome === 'disable') {
      await endpoints.disable(d.project, d.target, `The endpoint answered 410 Gone to event ${d.evt}.`)
      log.warn(ctx, 'webhook endpoint disabled: 410 Gone')
      return done('disabled')
    }
    if (isEndpoint && result.ok && pausedUntilS !== null) await endpoints.setPause(d.project, d.target, null, null)
    if (isEndpoint && !result.ok && recorded && (pausedUntilS === null || pausedUntilS * 1000 <= Date.now())) {
      const ms = pauseMs(recorded.consecutiveFailures, deps.pauseAfterFailures)
      if (ms !== null) {
        const until = Math.ceil((Date.now() + ms) / 1000)
        const since = recorded.firstFailureAt ? new Date(recorded.firstFailureAt).toISOString() : 'now'
        await endpoints.setPause(d.project, d.target, until, `${recorded.consecutiveFailures} delivery attempts in a row failed since ${since} (last: ${result.error ?? `http_${result.status}`}); delivery paused for ${Math.round(ms / 1000)} s.`)
        log.warn({ ...ctx, pausedForMs: ms, consecutiveFailures: recorded.consecutiveFailures }, 'webhook endpoint paused: failing')
      }
    }
    if (isEndpoint && !result.ok && recorded?.firstFailureAt) {
      const state = { consecutiveFailures: recorded.consecutiveFailures, firstFailureAt: recorded.firstFailureAt, now: Date.now() }
      if (shouldDisableEndpoint(state)) {
        const since = new Date(recorded.firstFailureAt).toISOString()
        await endpoints.disable(d.project, d.target, `No successful delivery since ${since} (${recorded.consecutiveFailures} failed attempts).`)
        log.warn(ctx, 'webhook endpoint disabled: failing for days')
        return done('disabled')
      }
    }
    if (retryAt !== null) {
      await job.updateData({ ...d, tries, retryAt })
      await job.moveToDelayed(retryAt, token)
      throw new DelayedError()
    }
    const final = await done(outcome === 'delivered' ? 'delivered' : outcome === 'retry' ? 'exhausted' : outcome)
    if (final === 'exhausted' || final === 'give_up') {
      // Failed for good: the job fails, so operators see it in the dashboard and can retry it there.
      await job.updateData({ ...d, tries, retryAt: null, exhausted: true })
      throw new UnrecoverableError(`delivery ${final}: ${result.error ?? `http_${result.status}`}`)
    }
    return final
  }
}
