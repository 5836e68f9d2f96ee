/**
 * Terms for text written without spaces between words: Chinese, Japanese, Korean (CJK). Both
 * keyword analyzers split on anything but letters and digits, so a CJK sentence is one "word"
 * (`液压泵的额定压力为40巴` one token to LanceDB's FTS and to the reranker) and no query short of
 * the whole sentence matches it: a keyword-only store (no EMBEDDING_MODEL, the default) found
 * nothing in Chinese documents. The usual answer without a dictionary is Lucene's CJKAnalyzer's:
 * overlapping character bigrams (`液压泵` → `液压 压泵`), which match any query sharing two
 * adjacent characters, and rank by how many it shares.
 */

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}'
const CJK_CHAR = new RegExp(`[${CJK}]`, 'u')
// Capturing, so split() keeps the runs: odd indices are CJK runs, even ones the rest.
const CJK_RUNS = new RegExp(`([${CJK}]+)`, 'u')
const WORD = /[\p{L}\p{N}]+/gu

/** Whether `text` holds a CJK character. */
export const hasCjk = (text: string): boolean => CJK_CHAR.test(text)

/**
 * The terms of one word (letters and digits only) that holds CJK characters: each CJK run as its
 * overlapping bigrams (a lone character as itself), the pieces between runs (`LoRA` in
 * `使用LoRA方法`) lower-cased as they are.
 */
export function cjkWordTerms(word: string): string[] {
  const out: string[] = []
  word.split(CJK_RUNS).forEach((piece, i) => {
    if (piece === '') return
    if (i % 2 === 0) {
      out.push(piece.toLowerCase())
      return
    }
    const chars = Array.from(piece)
    if (chars.length === 1) out.push(chars[0]!)
    for (let c = 0; c + 1 < chars.length; c++) out.push(chars[c]! + chars[c + 1]!)
  })
  return out
}

/**
 * The text's CJK terms, space-separated, for the chunk table's `cjk_terms` column (indexed by a
 * whitespace FTS index) and for the query searched against it: the terms of every word that holds
 * a CJK character (see {@link cjkWordTerms}); with `allWords`, the other words too, lower-cased
 * (a query's `LoRA` then finds `使用LoRA方法`, which the text index holds as one token). `''` when
 * there are none: rows of text without CJK cost an empty string.
 */
export function cjkTerms(text: string, allWords = false): string {
  if (!allWords && !hasCjk(text)) return ''
  const out: string[] = []
  for (const match of text.matchAll(WORD)) {
    const word = match[0]
    if (hasCjk(word)) out.push(...cjkWordTerms(word))
    else if (allWords) out.push(word.toLowerCase())
  }
  return out.join(' ')
}
