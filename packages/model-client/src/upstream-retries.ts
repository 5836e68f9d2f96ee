import { abortReason } from './abort.js'
import { type UpstreamFailure, UpstreamError, classifyUpstreamError } from './upstream-errors.js'

export interface UpstreamRetryOptions {
  /** Total attempts including the first. Default 4. */
  maxAttempts?: number
  /** First backoff ceiling; doubles each attempt. Default 500. */
  baseDelayMs?: number
  /** Cap on any single wait, `retry-after` included. Default 20 000. */
  maxDelayMs?: number
  /** Aborting stops the current attempt's wait at once. */
  signal?: AbortSignal
  /** Called before each wait (for logs/metrics). Errors it throws are ignored. */
  onRetry?: (info: { attempt: number; delayMs: number; failure: UpstreamFailure; error: unknown }) => void
  /** Source of randomness for the jitter; tests pin it. */
  random?: () => number
}

/**
 * Runs `fn` (given the 1-based attempt number), retrying retryable upstream failures with
 * exponential backoff and full jitter, or the provider's `retry-after` when it sent one (plus up to
 * 10% jitter so a burst of rate-limited runs does not return in lockstep), capped at `maxDelayMs`.
 *
 * Throws:
 * - `UpstreamError` for a non-retryable failure or after the last attempt (`code`, user-safe `message`);
 * - on abort of `signal`: `signal.reason` (so a cancel and an expiry stay distinguishable), or an
 *   `AbortError` when the reason is not an Error;
 * - an abort error from `fn` itself when no `signal` was aborted, unchanged.
 */
export async function withUpstreamRetries<T>(fn: (attempt: number) => Promise<T>, options: UpstreamRetryOptions = {}): Promise<T> {
  const { maxAttempts = 4, baseDelayMs = 500, maxDelayMs = 20_000, signal, onRetry, random = Math.random } = options
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortReason(signal)
    try {
      return await fn(attempt)
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal)
      const classified = classifyUpstreamError(err)
      if (classified.aborted) throw err
      if (!classified.retryable || attempt >= maxAttempts) {
        const { aborted: _aborted, ...fields } = classified
        throw new UpstreamError(fields, { attempts: attempt, cause: err })
      }
      const delayMs = backoffDelay(attempt, classified.retryAfterMs, { baseDelayMs, maxDelayMs, random })
      try {
        onRetry?.({ attempt, delayMs, failure: classified, error: err })
      } catch {
        // A logging hook must not change retry behaviour.
      }
      await abortableSleep(delayMs, signal)
    }
  }
}

/** The wait before attempt `attempt + 1`. Exported for tests. */
export function backoffDelay(
  attempt: number,
  retryAfterMs: number | null,
  opts: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  if (retryAfterMs !== null) {
    return Math.min(opts.maxDelayMs, Math.round(retryAfterMs + opts.random() * retryAfterMs * 0.1))
  }
  // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [0, ceiling].
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(opts.random() * ceiling)
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve()
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal))
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal as AbortSignal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
