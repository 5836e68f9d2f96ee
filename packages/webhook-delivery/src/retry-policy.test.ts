import { describe, expect, it } from 'vitest'
import { DISABLE_AFTER_FAILING_MS, MAX_ATTEMPTS, MAX_RETRY_AFTER_MS, classifyOutcome, nextDelayMs, RETRY_SCHEDULE_MS, shouldDisableEndpoint } from './index.js'

const HOUR = 3_600_000

describe('classifyOutcome', () => {
  it.each([
    [{ ok: true, status: 200, error: null }, 'delivered'],
    [{ ok: true, status: 204, error: null }, 'delivered'],
    [{ ok: false, status: 410, error: 'http_410' }, 'disable'],
    [{ ok: false, status: 408, error: 'http_408' }, 'retry'],
    [{ ok: false, status: 429, error: 'http_429' }, 'retry'],
    [{ ok: false, status: 500, error: 'http_500' }, 'retry'],
    [{ ok: false, status: 503, error: 'http_503' }, 'retry'],
    [{ ok: false, status: 301, error: 'redirect_not_followed' }, 'retry'],
    [{ ok: false, status: 400, error: 'http_400' }, 'retry'],
    [{ ok: false, status: 404, error: 'http_404' }, 'retry'],
    [{ ok: false, status: null, error: 'timeout' }, 'retry'],
    [{ ok: false, status: null, error: 'connection_error: ECONNREFUSED connect ECONNREFUSED' }, 'retry'],
    [{ ok: false, status: null, error: 'ssrf_blocked: 10.0.0.1 is private' }, 'give_up'],
    [{ ok: false, status: null, error: 'invalid_url: unparseable' }, 'give_up'],
  ] as const)('%o → %s', (result, outcome) => {
    expect(classifyOutcome(result)).toBe(outcome)
  })
})

describe('nextDelayMs', () => {
  const noJitter = () => 0.5

  it('follows the Svix schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    const delays = Array.from({ length: MAX_ATTEMPTS }, (_, attemptsMade) => nextDelayMs(attemptsMade, null, noJitter))
    expect(delays).toEqual([0, 5_000, 300_000, 1_800_000, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR])
    expect(MAX_ATTEMPTS).toBe(8)
    // About a day end to end: 27 h 35 min 5 s.
    expect(RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0)).toBe(27 * HOUR + 35 * 60_000 + 5_000)
  })

  it('stops after MAX_ATTEMPTS', () => {
    expect(nextDelayMs(MAX_ATTEMPTS)).toBeNull()
    expect(nextDelayMs(MAX_ATTEMPTS, 1_000)).toBeNull()
  })

  it('jitters by ±10 %', () => {
    expect(nextDelayMs(4, null, () => 0)).toBe(6_480_000) // 0.9 × 2 h
    expect(nextDelayMs(4, null, () => 1)).toBe(7_920_000) // 1.1 × 2 h
    for (let i = 0; i < 100; i++) {
      const delay = nextDelayMs(1) ?? -1
      expect(delay).toBeGreaterThanOrEqual(4_500)
      expect(delay).toBeLessThanOrEqual(5_500)
    }
  })

  it('honours a larger retry-after, capped at 24 h, and ignores a smaller one', () => {
    expect(nextDelayMs(1, 60_000, noJitter)).toBe(60_000)
    expect(nextDelayMs(2, 60_000, noJitter)).toBe(300_000)
    expect(nextDelayMs(1, 7 * 24 * HOUR, noJitter)).toBe(MAX_RETRY_AFTER_MS)
  })

  it('rejects a nonsense attempt count', () => {
    expect(() => nextDelayMs(-1)).toThrow(RangeError)
    expect(() => nextDelayMs(1.5)).toThrow(RangeError)
  })
})

describe('shouldDisableEndpoint', () => {
  const now = Date.parse('2026-03-10T00:00:00Z')

  it('disables after 5 days of continuous failure with enough failed attempts', () => {
    expect(shouldDisableEndpoint({ consecutiveFailures: 40, firstFailureAt: now - DISABLE_AFTER_FAILING_MS, now })).toBe(true)
    expect(shouldDisableEndpoint({ consecutiveFailures: 40, firstFailureAt: new Date(now - 6 * 24 * HOUR), now: new Date(now) })).toBe(true)
  })

  it('does not disable before 5 days, however many failures', () => {
    expect(shouldDisableEndpoint({ consecutiveFailures: 10_000, firstFailureAt: now - 4 * 24 * HOUR, now })).toBe(false)
  })

  it('does not disable for a handful of failures spread over days', () => {
    expect(shouldDisableEndpoint({ consecutiveFailures: 2, firstFailureAt: now - 6 * 24 * HOUR, now })).toBe(false)
  })

  it('does not disable without a failure streak', () => {
    expect(shouldDisableEndpoint({ consecutiveFailures: 0, firstFailureAt: null, now })).toBe(false)
  })
})
