import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from './index.js'

const now = Date.parse('2026-03-01T12:00:00Z')

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter(['7', '9'], now)).toBe(7_000)
  })
  it('reads an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:05:00 GMT', now)).toBe(5 * 60_000)
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0)
  })
  it('returns null for absent or junk values', () => {
    for (const value of [undefined, '', '-1', '5.5', 'soon', '12abc', 'Xyz, 99 Foo 2026']) {
      expect(parseRetryAfter(value, now), String(value)).toBeNull()
    }
  })
})
