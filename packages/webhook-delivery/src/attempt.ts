import type { WebhookDeliveryTrigger } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { CALLBACK_OWNER, type DeliveredSettle, type StoredWebhookEvent, type WebhookEndpointStore, activeSecrets } from '@threadwork/storage'
import type { Dispatcher } from 'undici'
import { classifyOutcome, nextDelayMs, shouldDisableEndpoint } from './retry-policy.js'
import { sendWebhook } from './send-webhook.js'
import { buildWebhookHeaders } from './signing.js'
import { pauseMs } from './pause.js'
import { tickBatch } from './tick-batch.js'

/** One call's outcome inside a batch: a failed record fails its own attempt only. */
type Outcome<T> = { ok: true; value: T } | { ok: false; err: unknown }
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value })
const failed = (err: unknown): Outcome<never> => ({ ok: false, err })
function unwrap<T>(o: Outcome<T>): T {
  if (!o.ok) throw o.err
  return o.value
}

/**
 * One signed delivery attempt and its bookkeeping, shared by the two ways an attempt starts: the
 * first attempt straight from the outbox (first-attempts.ts) and a BullMQ job (deliver.ts: the
 * retries, and first attempts that had to queue).
 */

export interface AttemptDeps {
  endpoints: WebhookEndpointStore
  /** The SSRF-guarded HTTP dispatcher. */
  http: Dispatcher
  log: Logger
  /** Delay before each attempt, from the first; its length is the attempt count. */
  schedule: readonly number[]
  timeoutMs: number
  /** Called after every attempt (metrics); must not throw. */
  onAttempt?: (attempt: { outcome: string; status: number | null; latencyMs: number }) => void
  /** Consecutive failed attempts that pause an endpoint (fairness.ts). */
  pauseAfterFailures: number
  /** The first pause's length (pause.ts `pauseMs`; default 30 s). */
  firstPauseMs?: number
}

/** Where an attempt goes and what signs it, read at send time (a changed URL applies to retries). */
export interface AttemptTarget {
  url: string
  /** Current secret first, then one still in its grace period. Never logged. */
  secrets: string[]
  /** Unix seconds; null when not paused. */
  pausedUntilS: number | null
}

/** Why an event is not sent to a target at all. */
export type SkipReason = 'endpoint_deleted' | 'endpoint_disabled' | 'event_expired'

/**
 * The target's URL and secrets now: the endpoint's, or for `callback` the event's callback_url
 * and the project's signing secret (created on first use). A deleted endpoint, a disabled one
 * (except for a test send) or an event no longer retained is a skip.
 */
export async function resolveTarget(
  endpoints: WebhookEndpointStore,
  o: { project: string; target: string; trigger: WebhookDeliveryTrigger; event: StoredWebhookEvent | null },
): Promise<AttemptTarget | SkipReason> {
  if (o.target === CALLBACK_OWNER) {
    const url = o.event?.callbackUrl
    if (!o.event || !url) return 'event_expired'
    return { url, secrets: activeSecrets(await endpoints.signingSecret.ensure(o.project)), pausedUntilS: null }
  }
  const target = await endpoints.target(o.project, o.target)
  if (!target) return 'endpoint_deleted'
  if (target.endpoint.status !== 'enabled' && o.trigger !== 'test') return 'endpoint_disabled'
  if (!o.event) return 'event_expired'
  return { url: target.endpoint.url, secrets: target.secrets, pausedUntilS: target.endpoint.paused_until ?? null }
}

export interface AttemptInput {
  project: string
  evt: string
  target: string
  trigger: WebhookDeliveryTrigger
  /** Attempts already made for this event and target by this delivery (its place in the schedule). */
  tries: number
  event: StoredWebhookEvent
  to: AttemptTarget
  /** Set when the event record is not stored yet (a first attempt from the outbox): stored with the attempt's record. */
  saveEventTtlSeconds?: number
  /**
   * The in-flight slot this attempt holds: given back in the same step as its record. A function
   * is asked just before the record (undefined: keep it, the caller hands it on).
   */
  slotMember?: string | (() => string | undefined)
  /**
   * An SSRF refusal is not this caller's to decide (the worker's own callback attempts: the
   * webhooks service's egress policy decides, services/worker direct-callbacks.ts): returned as
   * `refused`, with nothing recorded.
   */
  handBackRefusal?: boolean
  /**
   * A committer's own callback attempt (services/worker direct-callbacks.ts): when delivered, it
   * is settled in the record's step (`WebhookDeliveryLog.record`'s `settleDelivered`), and
   * `settled` is returned.
   */
  settleIfDelivered?: DeliveredSettle
}

/**
 * What follows an attempt: another one at `retryAt`; or the end (`final`), the job-path's
 * return value or failure reason; or a test send's outcome (no retries, no effect on the FIFO).
 */
export type AttemptResult =
  | { kind: 'retry'; tries: number; retryAt: number }
  | {
      kind: 'final'
      tries: number
      final: 'delivered' | 'disabled' | 'endpoint_deleted' | 'exhausted' | 'give_up'
      error: string | null
      status: number | null
    }
  | { kind: 'test'; outcome: string }

/** An attempt's SSRF refusal handed back unrecorded (`AttemptInput.handBackRefusal`). */
export interface RefusedAttempt {
  kind: 'refused'
  error: string
}

/** How `AttemptInput.settleIfDelivered` was settled: false when another consumer had acknowledged the entry (nothing done); the FIFO's head after the member went. */
export interface Settled {
  settled: boolean
  head: string | null
}

/** `createAttempt`'s function: a `refused` result only for a caller that asked for it. */
export interface Attempt {
  (a: AttemptInput & { handBackRefusal: true }): Promise<{ result: AttemptResult | RefusedAttempt; woken: string | null; settled?: Settled }>
  (a: AttemptInput): Promise<{ result: AttemptResult; woken: string | null; settled?: Settled }>
}

/**
 * Sends one attempt (same `webhook-id` and body every time, a fresh timestamp and signature),
 * records it (and counts it, stores the event, gives back the slot, in one script), and applies
 * what the outcome says to the endpoint: 410 disables it, a failing streak pauses it, 5 days of
 * failure disable it, a success lifts a pause. `woken`: the project's longest-parked job, popped
 * when the slot was given back, for the caller to wake.
 */
export function createAttempt(deps: AttemptDeps): Attempt {
  const { endpoints, log } = deps
  type Record = Parameters<WebhookEndpointStore['deliveries']['record']>
  /**
   * Records of attempts whose responses came in the same turn of the event loop, sent together
   * (issue 14): each was its own write to Redis and its own read of the reply, one per attempt,
   * and so was the entry's acknowledgement after it; together they leave in one write, their
   * replies come back together, and the acknowledgements that follow go as one call
   * (first-attempts.ts). Each record is still its own script call, with its own outcome.
   */
  const record = tickBatch((_: 0, calls: Record[]) => Promise.all(calls.map((c) => endpoints.deliveries.record(...c).then(ok, failed))))
  async function attempt(a: AttemptInput): Promise<{ result: AttemptResult | RefusedAttempt; woken: string | null; settled?: Settled }> {
    const ctx = { evt: a.evt, target: a.target, project: a.project }
    const tries = a.tries + 1
    const headers = buildWebhookHeaders({ secrets: a.to.secrets, msgId: a.evt, timestamp: new Date(), body: a.event.body })
    const result = await sendWebhook({ url: a.to.url, headers, body: a.event.body, dispatcher: deps.http, timeoutMs: deps.timeoutMs })
    const outcome = classifyOutcome(result)
    const isEndpoint = a.target !== CALLBACK_OWNER
    if (a.handBackRefusal && result.error?.startsWith('ssrf_blocked')) return { result: { kind: 'refused', error: result.error }, woken: null }

    const delay = outcome === 'retry' && a.trigger !== 'test' ? nextDelayMs(tries, result.retryAfterMs, Math.random, deps.schedule) : null
    const retryAt = delay === null ? null : Date.now() + delay
    // Tests never move the failure streak: a probe must not disable an endpoint.
    const streak = a.trigger === 'test' || !isEndpoint ? 'none' : result.ok ? 'success' : 'failure'
    const slotMember = typeof a.slotMember === 'function' ? a.slotMember() : a.slotMember
    const recorded = unwrap(
      await record(0, [
        a.project,
        a.target,
        {
          webhook_endpoint_id: isEndpoint ? a.target : null,
          url: a.to.url,
          event_id: a.evt,
          event_type: a.event.type,
          thread_id: a.event.thread,
          trigger: a.trigger,
          status: result.ok ? 'succeeded' : 'failed',
          response_status_code: result.status,
          latency_ms: result.latencyMs,
          error: result.error,
          next_attempt_at: retryAt === null ? null : Math.ceil(retryAt / 1000),
        },
        streak,
        {
          countAttempt: true,
          // A callback's owner (the project secret) was just read to sign: it exists.
          ownerExists: !isEndpoint,
          saveEvent: a.saveEventTtlSeconds ? { event: a.event, ttlSeconds: a.saveEventTtlSeconds } : undefined,
          releaseSlot: slotMember ? { target: a.target, member: slotMember } : undefined,
          settleDelivered: result.ok ? a.settleIfDelivered : undefined,
        },
      ]),
    )
    const woken = recorded?.woken ?? null
    const settled = recorded?.settled
    // A delivered attempt is at debug: it is in the delivery log and the attempts metric already,
    // and its line (pino's serialising and redaction, per attempt) was this process's one log
    // line per turn (issue 14). Every other outcome stays at info.
    const line = { ...ctx, attempt: recorded?.attempt, status: result.status, error: result.error, latencyMs: result.latencyMs, outcome }
    if (outcome === 'delivered') log.debug(line, 'webhook attempt')
    else log.info(line, 'webhook attempt')
    deps.onAttempt?.({ outcome, status: result.status, latencyMs: result.latencyMs })

    const final = (f: 'delivered' | 'disabled' | 'endpoint_deleted' | 'exhausted' | 'give_up') =>
      ({ result: { kind: 'final', tries, final: f, error: result.error, status: result.status }, woken, settled }) as const
    // A test's outcome is its entry in the delivery log (recorded above); the API answered at once.
    if (a.trigger === 'test') return { result: { kind: 'test', outcome }, woken }
    if (isEndpoint && recorded === null) return final('endpoint_deleted')

    if (isEndpoint && outcome === 'disable') {
      await endpoints.disable(a.project, a.target, `The endpoint answered 410 Gone to event ${a.evt}.`)
      log.warn(ctx, 'webhook endpoint disabled: 410 Gone')
      return final('disabled')
    }
    const pausedUntilS = a.to.pausedUntilS
    if (isEndpoint && result.ok && pausedUntilS !== null) await endpoints.setPause(a.project, a.target, null, null)
    if (isEndpoint && !result.ok && recorded && (pausedUntilS === null || pausedUntilS * 1000 <= Date.now())) {
      const ms = pauseMs(recorded.consecutiveFailures, deps.pauseAfterFailures, deps.firstPauseMs)
      if (ms !== null) {
        const until = Math.ceil((Date.now() + ms) / 1000)
        const since = recorded.firstFailureAt ? new Date(recorded.firstFailureAt).toISOString() : 'now'
        await endpoints.setPause(
          a.project,
          a.target,
          until,
          `${recorded.consecutiveFailures} delivery attempts in a row failed since ${since} (last: ${result.error ?? `http_${result.status}`}); delivery paused for ${Math.round(ms / 1000)} s.`,
        )
        log.warn({ ...ctx, pausedForMs: ms, consecutiveFailures: recorded.consecutiveFailures }, 'webhook endpoint paused: failing')
      }
    }
    if (isEndpoint && !result.ok && recorded?.firstFailureAt) {
      const state = { consecutiveFailures: recorded.consecutiveFailures, firstFailureAt: recorded.firstFailureAt, now: Date.now() }
      if (shouldDisableEndpoint(state)) {
        const since = new Date(recorded.firstFailureAt).toISOString()
        await endpoints.disable(a.project, a.target, `No successful delivery since ${since} (${recorded.consecutiveFailures} failed attempts).`)
        log.warn(ctx, 'webhook endpoint disabled: failing for days')
        return final('disabled')
      }
    }
    if (retryAt !== null) return { result: { kind: 'retry', tries, retryAt }, woken }
    return final(outcome === 'delivered' ? 'delivered' : outcome === 'retry' ? 'exhausted' : 'give_up')
  }
  // Only a caller that set `handBackRefusal` is given `refused` (see `Attempt`).
  return attempt as Attempt
}
