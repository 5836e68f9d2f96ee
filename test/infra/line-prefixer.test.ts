// scripts/lib/line-prefixer.mjs: the `name |` prefix on each service's output lines.
import { describe, expect, it } from 'vitest'
import { createLinePrefixer } from '../../scripts/lib/line-prefixer.mjs'

describe('createLinePrefixer', () => {
  it('prefixes whole lines, holds partial ones until their newline, flushes the tail', () => {
    const out: string[] = []
    const p = createLinePrefixer('[api] ', (t) => out.push(t))
    p.push('hello\nwor')
    expect(out).toEqual(['[api] hello\n'])
    p.push('ld\r\nsecond\nthi')
    expect(out.join('')).toBe('[api] hello\n[api] world\n[api] second\n')
    p.flush()
    expect(out.join('')).toBe('[api] hello\n[api] world\n[api] second\n[api] thi\n')
    p.flush()
    expect(out).toHaveLength(3) // nothing pending: no extra write
  })

  it('keeps multi-byte characters split across chunks intact', () => {
    const out: string[] = []
    const p = createLinePrefixer('[worker] ', (t) => out.push(t))
    const bytes = Buffer.from('naïve → ok\n')
    p.push(bytes.subarray(0, 3)) // ends inside "ï"
    p.push(bytes.subarray(3, 8)) // ends inside "→"
    p.push(bytes.subarray(8))
    expect(out.join('')).toBe('[worker] naïve → ok\n')
  })

  it('keeps empty lines', () => {
    const out: string[] = []
    const p = createLinePrefixer('[x] ', (t) => out.push(t))
    p.push('a\n\nb\n')
    expect(out.join('')).toBe('[x] a\n[x] \n[x] b\n')
  })
})
