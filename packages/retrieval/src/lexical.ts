import { cjkWordTerms, hasCjk } from './cjk.js'

/**
 * The small lexical analyzer the reranker uses to see which query words a chunk contains:
 * lower-case, split on anything but letters and digits, English stop words dropped, plural and
 * possessive endings folded (`policies` → `policy`, `manual's` → `manual`). Close to what
 * LanceDB's default FTS analyzer does (lower-case, stop words, stemming), without its full
 * Snowball stemmer: this only has to agree with itself between a query and a chunk. A word with
 * CJK characters gives its bigrams and the pieces between them (cjk.ts), not itself.
 */
export function analyze(text: string): string[] {
  const out: string[] = []
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0]
    if (hasCjk(word)) {
      for (const term of cjkWordTerms(word)) if (!STOP_WORDS.has(term)) out.push(hasCjk(term) ? term : fold(term))
      continue
    }
    if (STOP_WORDS.has(word)) continue
    out.push(fold(word))
  }
  return out
}

/** The distinct terms of a text, for coverage checks. */
export function termSet(text: string): Set<string> {
  return new Set(analyze(text))
}

/**
 * Scores texts by the best {@link termCoverage} of any of `queries`: `coverage(text)` equals
 * `max over q of termCoverage(termSet(q), termSet(text))` (0 with no query terms), in [0, 1].
 * Built once per search, it is called for every candidate chunk (up to 100 of ~800 tokens): it
 * looks each word up among the queries' terms instead of building the chunk's term set, stops
 * once every term is seen, and splits instead of iterating regex matches (an object per word) —
 * the set and the matches were most of the reranker's time and allocations.
 */
export function coverageScorer(queries: readonly string[]): (text: string) => number {
  const sets = queries.map(termSet)
  const wanted = new Set<string>()
  for (const set of sets) for (const term of set) wanted.add(term)
  // Only when a query has CJK terms are a chunk's CJK words split into theirs (English costs nothing more).
  const cjk = [...wanted].some(hasCjk)
  return (text) => {
    if (wanted.size === 0) return 0
    const found = new Set<string>()
    for (const word of text.toLowerCase().split(NON_WORD)) {
      if (word === '') continue
      if (cjk && hasCjk(word)) {
        for (const piece of cjkWordTerms(word)) {
          const term = hasCjk(piece) ? piece : fold(piece)
          if (wanted.has(term) && !STOP_WORDS.has(piece)) found.add(term)
        }
        if (found.size === wanted.size) break
        continue
      }
      const term = fold(word)
      // A stop word is never a query term, but its folded form can be one (`does` → `doe`).
      if (!wanted.has(term) || STOP_WORDS.has(word)) continue
      found.add(term)
      if (found.size === wanted.size) break
    }
    let best = 0
    for (const set of sets) best = Math.max(best, termCoverage(set, found))
    return best
  }
}

/**
 * Share of the query's distinct terms present in `chunkTerms`, each weighted by its length
 * (longer words are rarer and carry more meaning: a cheap stand-in for IDF that needs no corpus
 * statistics). 0 when the query has no terms. In [0, 1].
 */
export function termCoverage(queryTerms: ReadonlySet<string>, chunkTerms: ReadonlySet<string>): number {
  let total = 0
  let hit = 0
  for (const term of queryTerms) {
    const weight = Math.min(term.length, 12)
    total += weight
    if (chunkTerms.has(term)) hit += weight
  }
  return total === 0 ? 0 : hit / total
}

const WORD = /[\p{L}\p{N}]+/gu
// Splitting on maximal runs of the complement yields exactly WORD's matches (plus empty ends).
const NON_WORD = /[^\p{L}\p{N}]+/u

function fold(word: string): string {
  if (word.length <= 3) return word
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`
  if (word.endsWith('sses')) return word.slice(0, -2)
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1)
  return word
}

// English stop words (the usual short list, as in Lucene/Tantivy's English analyzer, plus a few question words).
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with ' +
    'i me my we our you your he she him her his its them what which who whom whose when where why how do does did doing done can could ' +
    'should would may might must shall have has had having am been being were from about above after again against all any both each few ' +
    'more most other some than too very so only own same just also up down out off over under until while between through during before ' +
    's t'
  ).split(' '),
)
