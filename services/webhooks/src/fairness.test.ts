import { describe, expect, it } from 'vitest'
import { MAX_PAUSE_MS, parkedWaitMs, pauseMs, throttleFanOut } from './fairness.js'

describe('pauseMs', () => {
  it('pauses from the threshold on, doubling per further round of failures, capped at an hour', () => {
    expect(pauseMs(4, 5)).toBeNull()
    expect(pauseMs(5, 5)).toBe(30_000)
    expect(pauseMs(9, 5)).toBe(30_000)
    expect(pauseMs(10, 5)).toBe(60_000)
    expect(pauseMs(15, 5)).toBe(120_000)
    expect(pauseMs(10_000, 5)).toBe(MAX_PAUSE_MS)
    expect(pauseMs(3, 3, 4_000)).toBe(4_000)
    expect(pauseMs(6, 3, 4_000)).toBe(8_000)
  })
})

describe('parkedWaitMs', () => {
  it('is a safety net of 30 s ±25 %', () => {
    expect(parkedWaitMs(() => 0)).toBe(22_500)
    expect(parkedWaitMs(() => 1)).toBe(37_500)
  })
})

describe('throttleFanOut', () => {
  const job = (project: string, trigger = 'event') => ({ data: { project, trigger }, opts: {} as { priority?: number; delay?: number } })

  it('lets through as many of a project’s new jobs as it has free slots, and throttles the rest', async () => {
    const jobs = [...Array.from({ length: 5 }, () => job('noisy')), job('quiet'), job('noisy', 'test')]
    await throttleFanOut(jobs, async (p) => (p === 'noisy' ? 1 : 0), 3)
    expect(jobs.map((j) => j.opts.priority ?? 0)).toEqual([0, 0, 1, 1, 1, 0, 0])
    // Paced FAN_OUT_PACE_MS apart from the first one beyond the free slots, plus up to 250 ms of jitter
    // (which may round to 0: the first one's delay can be 0).
    for (const [i, excess] of [[2, 0], [3, 1], [4, 2]] as const) {
      expect(jobs[i]!.opts.delay).toBeGreaterThanOrEqual(excess * 20)
      expect(jobs[i]!.opts.delay).toBeLessThanOrEqual(excess * 20 + 250)
    }
  })
})
