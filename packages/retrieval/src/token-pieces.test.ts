import { countPieceTokens, countTextTokens } from '@threadwork/model-client'
import o200k_base from 'js-tiktoken/ranks/o200k_base'
import { describe, expect, it } from 'vitest'
import { PieceCountCache, tokenPieces } from './token-pieces.js'

// The splitter as it was before the sticky scan: every match of o200k's pattern, in order, with
// runs over 64 characters cut into 32-character slices (never between a surrogate pair).
function reference(text: string): { ends: number[]; tokens: number[] } {
  const ends: number[] = []
  const tokens: number[] = []
  const slices = (start: number, end: number) => {
    for (let i = start; i < end; ) {
      let stop = Math.min(i + 32, end)
      const code = text.charCodeAt(stop - 1)
      if (code >= 0xd800 && code <= 0xdbff && stop < end) stop++
      ends.push(stop)
      tokens.push(countTextTokens(text.slice(i, stop)))
      i = stop
    }
  }
  let last = 0
  for (const m of text.matchAll(new RegExp(o200k_base.pat_str, 'gu'))) {
    if (m.index > last) slices(last, m.index)
    const end = m.index + m[0].length
    if (m[0].length > 64) slices(m.index, end)
    else {
      ends.push(end)
      tokens.push(countPieceTokens(m[0]))
    }
    last = end
  }
  if (last < text.length) slices(last, text.length)
  return { ends, tokens }
}

const samples = {
  prose: "The engines were started at 10:42, and they’re running.\n\nIt's fine — isn't it? 12345678 items; «quotes» & symbols!!!",
  whitespace: '  leading\r\n\r\n\ttabs   and  trailing   \n \n  ',
  unicode: 'Grüße aus Köln. Ελληνικά κείμενα. Русский текст. 日本語のテキストと中文文本。 🙂🚀 emoji 👩‍💻 x\ud83d lone',
  long: `key=${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo'.repeat(9)} then ${'漢'.repeat(150)} and ${'🙂'.repeat(70)} end`,
  code: 'function f(a, b) {\n  return a.map((x) => x * 2) // comment\n}\nconst URL = "https://example.com/a/b?c=d";\n',
}

describe('tokenPieces', () => {
  for (const [name, text] of Object.entries(samples)) {
    it(`splits ${name} text where o200k's pre-tokenizer does, with each piece's count`, () => {
      const ours = tokenPieces(text)
      const ref = reference(text)
      expect([...ours.ends]).toEqual(ref.ends)
      expect([...ours.tokens]).toEqual(ref.tokens)
      expect(ours.ends.at(-1)).toBe(text.length)
    })
  }

  it('gives the exact token count of a text without long runs', () => {
    const text = samples.prose.repeat(50)
    expect(tokenPieces(text).tokens.reduce((a, b) => a + b, 0)).toBe(countTextTokens(text))
  })

  it('has no pieces for an empty text', () => {
    expect(tokenPieces('').ends.length).toBe(0)
  })
})

describe('PieceCountCache', () => {
  // Pieces of every sample and of a longer mixed text, each looked up where it stands in its text.
  const texts = [...Object.values(samples), Object.values(samples).join(' ').repeat(3)]
  const piecesOf = (text: string) => {
    const out: [number, number][] = []
    let start = 0
    for (const end of tokenPieces(text).ends) {
      if (end - start <= 64) out.push([start, end])
      start = end
    }
    return out
  }

  it('gives each piece the count of its own characters, as a Map of sliced pieces did', () => {
    for (const maxEntries of [100_000, 7]) {
      // 7 entries: the cache clears itself over and over; counts must not change.
      const cache = new PieceCountCache(maxEntries)
      for (let round = 0; round < 2; round++) {
        for (const text of texts) {
          for (const [start, end] of piecesOf(text)) expect(cache.count(text, start, end)).toBe(countPieceTokens(text.slice(start, end)))
        }
      }
      expect(cache.size).toBeLessThanOrEqual(maxEntries)
    }
  })

  it('tells apart pieces of equal hash slot and length (a full table probes on, never returns a neighbour)', () => {
    const cache = new PieceCountCache(600) // 2,048 slots: 600 pieces of 4 letters share slots
    const words = Array.from({ length: 600 }, (_, i) => ` ${String.fromCharCode(97 + (i % 26), 97 + (((i / 26) | 0) % 26), 97 + ((i * 7) % 26))}`)
    for (const w of words) cache.count(w, 0, w.length)
    for (const w of words) expect(cache.count(w, 0, w.length)).toBe(countPieceTokens(w))
    // The same characters at another offset of another string are the same piece.
    const text = `xx${words[5]}yy`
    expect(cache.count(text, 2, 2 + words[5]!.length)).toBe(countPieceTokens(words[5]!))
  })
})
