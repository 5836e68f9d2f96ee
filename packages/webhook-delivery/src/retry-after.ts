/**
 * Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * Returns milliseconds from `now` (never negative), or null when absent or unparseable.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | null {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim()
  if (!raw) return null
  if (/^\d+$/.test(raw)) return Number(raw) * 1000
  // Only a date that names a weekday or month is taken, so junk like "5.5" or "-1" is not
  // read as a year by Date.parse's lenient fallback.
  if (!/[a-z]{3}/i.test(raw)) return null
  const at = Date.parse(raw)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
