import { describe, expect, it } from 'vitest'
import { tickBatch } from './tick-batch.js'

describe('tickBatch', () => {
  it('sends the calls of one turn as one group per key, each caller getting its own output', async () => {
    const runs: [string, number[]][] = []
    const double = tickBatch(async (key: string, items: number[]) => {
      runs.push([key, items])
      return items.map((n) => n * 2)
    })
    const outs = await Promise.all([double('a', 1), double('b', 2), double('a', 3)])
    expect(outs).toEqual([2, 4, 6])
    expect(runs).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ])
    // A later turn is a group of its own.
    expect(await double('a', 5)).toBe(10)
    expect(runs.at(-1)).toEqual(['a', [5]])
  })

  it('rejects every call of a group whose run failed, and only those', async () => {
    const f = tickBatch(async (key: string, items: number[]) => {
      if (key === 'bad') throw new Error('redis down')
      return items
    })
    const results = await Promise.allSettled([f('bad', 1), f('bad', 2), f('good', 3)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
  })
})
