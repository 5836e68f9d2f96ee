import { countPieceTokens, countTextTokens } from '@threadwork/model-client'
import o200k_base from 'js-tiktoken/ranks/o200k_base'

/**
 * The text split where o200k_base's pre-tokenizer splits it (the regex tiktoken runs before
 * byte-pair merging), with each piece's token count. BPE never merges across these pieces, so a
 * run of whole pieces has exactly the sum of their counts: chunks cut at piece boundaries are
 * measured exactly and need no decoder (model-client drops js-tiktoken's decode table).
 *
 * Pieces longer than LONG_PIECE characters (base64, minified code, unbroken CJK) are cut into
 * SLICE-character slices counted one by one — a token or so over per slice, and a chunk can then
 * always end within such a run. Returns parallel arrays: `ends[i]` is the end offset of piece i
 * in UTF-16 code units, `tokens[i]` its count. Typed arrays, filled without a match object per
 * piece: a third less CPU than `exec` into plain arrays (8.4 MB of text: 0.19 → 0.13 s, warm).
 */
export function tokenPieces(text: string): { ends: Int32Array; tokens: Int32Array } {
  let cap = Math.max(16, text.length >> 2) // pieces average ~4+ characters in prose
  let ends = new Int32Array(cap)
  let tokens = new Int32Array(cap)
  let k = 0
  const push = (end: number, n: number) => {
    if (k === cap) {
      cap *= 2
      const e = new Int32Array(cap)
      e.set(ends)
      ends = e
      const t = new Int32Array(cap)
      t.set(tokens)
      tokens = t
    }
    ends[k] = end
    tokens[k++] = n
  }
  const long = (start: number, end: number) => {
    for (let i = start; i < end; ) {
      let stop = Math.min(i + SLICE, end)
      // Never split a surrogate pair.
      const code = text.charCodeAt(stop - 1)
      if (code >= 0xd800 && code <= 0xdbff && stop < end) stop++
      push(stop, countTextTokens(text.slice(i, stop)))
      i = stop
    }
  }
  // Sticky: each piece must start where the last ended (o200k's pattern matches every position),
  // and `test` builds no match array; the piece's end is `lastIndex`.
  const re = STICKY
  let last = 0
  re.lastIndex = 0
  while (last < text.length) {
    if (!re.test(text) || re.lastIndex === last) {
      // Never happens with o200k's pattern (kept for safety): what it cannot match up to its next
      // match is counted as slices.
      const anywhere = new RegExp(PIECE.source, 'gu')
      anywhere.lastIndex = last
      const next = anywhere.exec(text)
      const start = next ? next.index : text.length
      long(last, start)
      last = start
      re.lastIndex = start
      continue
    }
    const end = re.lastIndex
    if (end - last > LONG_PIECE) long(last, end)
    else {
      const piece = text.slice(last, end)
      let n = cache.get(piece)
      if (n === undefined) {
        n = countPieceTokens(piece)
        if (cache.size >= CACHE_MAX) cache.clear()
        cache.set(piece, n)
      }
      push(end, n)
    }
    last = end
  }
  return { ends: ends.subarray(0, k), tokens: tokens.subarray(0, k) }
}

// o200k's pattern with its groups made non-capturing: exec then builds no group strings (2.7× faster).
const PIECE = new RegExp(o200k_base.pat_str.replace(/\((?!\?)/g, '(?:'), 'gu')
const STICKY = new RegExp(PIECE.source, 'uy')
const LONG_PIECE = 64
const SLICE = 32

// Natural text repeats its words (Zipf): counting each distinct piece once makes the chunker
// several times faster. Bounded, and simply cleared when full.
const cache = new Map<string, number>()
const CACHE_MAX = 100_000
