/**
 * The small lexical analyzer the reranker uses to see which query words a chunk contains:
 * lower-case, split on anything but letters and digits, English stop words dropped, plural and
 * possessive endings folded (`policies` → `policy`, `manual's` → `manual`). Close to what
 * LanceDB's default FTS analyzer does (lower-case, stop words, stemming), without its full
 * Snowball stemmer: this only has to agree with itself between a query and a chunk.
 */
export function analyze(text: string): string[] {
  const out: string[] = []
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0]
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
