import type { SendWebhookResult } from './send-webhook.js'

/**
 * What to do after one delivery attempt, and when to try again.
 *
 * Schedule: Svix's (research §4.2), 8 attempts spanning about 27.6 h. Disabling: Svix's 5 days of
 * continuous failure, plus 410 Gone at once (Standard Webhooks).
 */

/**
 * - `delivered`: a 2xx.
 * - `retry`: 408, 429, 5xx, timeouts, connection errors, and also 3xx and other 4xx (the spec
 *   retries those too; they only ever succeed after the receiver fixes something).
 * - `disable`: 410 Gone; the receiver asked us to stop.
 * - `give_up`: retrying cannot help (the URL is refused by the SSRF guard or is invalid). The
 *   event fails now; the endpoint stays enabled, since a DNS change can fix it.
 *
 * Every outcome except `delivered` counts as a failure toward `shouldDisableEndpoint`.
 */
export type DeliveryOutcome = 'delivered' | 'retry' | 'disable' | 'give_up'

export function classifyOutcome(result: Pick<SendWebhookResult, 'ok' | 'status' | 'error'>): DeliveryOutcome {
  if (result.ok) return 'delivered'
  if (result.error?.startsWith('ssrf_blocked') || result.error?.startsWith('invalid_url')) return 'give_up'
  if (result.status === 410) return 'disable'
  return 'retry'
}

const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Delay before attempt n+1, indexed by attempts made: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_SCHEDULE_MS: readonly number[] = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]
/** Attempts per event, the first included. */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length
/** ±10 %, so endpoints that failed together do not all retry in the same second. */
export const JITTER = 0.1
/** A receiver's `retry-after` is honoured up to this; beyond it we keep our schedule. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR

/**
 * Milliseconds to wait before the next attempt, given how many attempts were already made
 * (BullMQ's `attemptsMade`), or null when all `MAX_ATTEMPTS` are spent. `nextDelayMs(0)` is
 * the first attempt: 0. A larger `retryAfterMs` wins, capped at 24 h. `schedule` replaces
 * `RETRY_SCHEDULE_MS` (env `WEBHOOK_RETRY_SCHEDULE_MS`; tests use milliseconds).
 */
export function nextDelayMs(
  attemptsMade: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
  schedule: readonly number[] = RETRY_SCHEDULE_MS,
): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0) throw new RangeError('attemptsMade must be a non-negative integer')
  const base = schedule[attemptsMade]
  if (base === undefined) return null
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()))
  const asked = retryAfterMs === null ? 0 : Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS)
  return Math.max(jittered, asked)
}

/** Svix disables an endpoint that has failed for 5 days. */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * HOUR
/**
 * And the streak must hold at least this many failed attempts (one event's full retry run),
 * so a single failure followed by days without traffic does not disable an endpoint.
 */
export const DISABLE_MIN_CONSECUTIVE_FAILURES = MAX_ATTEMPTS

export type EndpointFailureState = {
  /** Failed attempts since the last success; any success resets it to 0. */
  consecutiveFailures: number
  /** When the current failure streak began, or null if the last attempt succeeded. */
  firstFailureAt: Date | number | null
  now: Date | number
}

/**
 * Whether an endpoint has failed long enough to be disabled: 5 days of failure with no success,
 * and at least `DISABLE_MIN_CONSECUTIVE_FAILURES` failed attempts.
 *
 * No count-only rule: a busy endpoint piles up 50 failures in seconds of an outage, and
 * disabling it for that would drop a customer's traffic for a blip. Time is what shows a
 * receiver is gone; 410 covers a receiver that says so.
 */
export function shouldDisableEndpoint({ consecutiveFailures, firstFailureAt, now }: EndpointFailureState): boolean {
  if (firstFailureAt === null || consecutiveFailures < DISABLE_MIN_CONSECUTIVE_FAILURES) return false
  return Number(now) - Number(firstFailureAt) >= DISABLE_AFTER_FAILING_MS
}
