/** An endpoint failing in a row (services/webhooks fairness.ts, README "Fairness"): paused, not retried at full rate. */
export const FIRST_PAUSE_MS = 30_000
export const MAX_PAUSE_MS = 60 * 60_000

/**
 * How long to pause an endpoint whose `consecutiveFailures` attempts in a row failed: null below
 * `threshold`; `firstMs` (30 s) at the threshold, doubling per further `threshold` failures,
 * capped at 1 h.
 */
export function pauseMs(consecutiveFailures: number, threshold: number, firstMs = FIRST_PAUSE_MS): number | null {
  if (threshold <= 0 || consecutiveFailures < threshold) return null
  const rounds = Math.floor(consecutiveFailures / threshold) - 1
  return Math.min(MAX_PAUSE_MS, firstMs * 2 ** Math.min(rounds, 20))
}
