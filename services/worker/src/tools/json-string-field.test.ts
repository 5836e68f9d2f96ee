import { describe, expect, it } from 'vitest'
import { createJsonStringFieldReader } from './json-string-field.js'

const feed = (field: string, fragments: string[]) => {
  const reader = createJsonStringFieldReader(field)
  return fragments.map((f) => reader.push(f))
}

describe('createJsonStringFieldReader', () => {
  it('streams the value as it is written, escapes split across fragments included', () => {
    const args = JSON.stringify({ code: 'print("héllo")\nx = 1\t# done' })
    const pieces = args.match(/.{1,3}/gs) ?? []
    const out = feed('code', pieces)
    expect(out.join('')).toBe('print("héllo")\nx = 1\t# done')
    // Decoded as it arrived, not only at the end.
    expect(out.filter((o) => o !== '').length).toBeGreaterThan(3)
  })

  it('finds the field after other keys, and decodes \\u escapes', () => {
    expect(feed('code', ['{"lang": "py", "n": 3, ', '"code":"a\\u00', 'e9b"}']).join('')).toBe('aéb')
  })

  it('yields nothing for arguments of another shape', () => {
    expect(feed('code', ['{"queries": ["x"]}']).join('')).toBe('')
    expect(feed('code', ['not json']).join('')).toBe('')
  })
})
