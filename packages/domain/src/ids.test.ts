import { describe, expect, it } from 'vitest'
import { FILE_ID_PATTERN, newFileId, newId } from './ids.js'

describe('ids', () => {
  it('newId: prefix + 24 base62 characters, distinct across several refills of the byte pool', () => {
    // 2,000 ids use ~50 KB of random bytes: a dozen refills of the 4 KB pool.
    const ids = Array.from({ length: 2000 }, () => newId('run'))
    for (const id of ids) expect(id).toMatch(/^run_[0-9A-Za-z]{24}$/)
    expect(new Set(ids).size).toBe(ids.length)
    expect(newFileId()).toMatch(FILE_ID_PATTERN)
  })

  it('draws every base62 character about equally often', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++) for (const ch of newId('msg').slice(4)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    // 48,000 characters: ~774 each; a stuck or biased pool would leave some far off.
    expect(counts.size).toBe(62)
    for (const n of counts.values()) expect(n).toBeGreaterThan(600)
    for (const n of counts.values()) expect(n).toBeLessThan(960)
  })
})
