import { createHash } from 'node:crypto'
import { fakeEmbedding } from '@threadwork/test-utils'
import { normalize } from '../embedder.js'
import type { RankedSearchInput, SearchResult } from '../search.js'
import type { VectorIndex } from '../vector-index.js'

const DIMS = 64

/**
 * A store for comparing search results across changes of the query path: 240 chunks of seeded
 * synthetic text in four files — three appends folded into one fragment and indexed (BM25), then
 * a fourth left unindexed (scanned) — with vectors scanned exactly (below the ANN threshold, whose
 * k-means training is random). Everything is deterministic, so the same code gives the same results.
 */
export async function loadSearchFixture(index: VectorIndex): Promise<void> {
  let state = 7
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state / 2 ** 32
  }
  const vocab = Array.from({ length: 400 }, (_, i) => `w${(i * 7919) % 997}x${i % 13}`)
  // Every chunk of another length: BM25 ties (same term counts, same length) come back in
  // LanceDB's thread-dependent order, which would make two runs of the same code differ.
  let n = 0
  const text = () => Array.from({ length: 20 + n++ }, () => vocab[Math.floor(vocab.length * random() ** 2)]!).join(' ')
  const file = () =>
    Array.from({ length: 60 }, () => {
      const t = text()
      return { text: t, vector: fakeEmbedding(t, DIMS) }
    })
  for (let f = 0; f < 3; f++) await index.replaceFileChunks(`file-${f}`, file(), { filename: `doc-${f}.txt`, attributes: { part: f, even: f % 2 === 0 } })
  await index.optimize()
  await index.replaceFileChunks('file-3', file(), { filename: 'doc-3.txt', attributes: { part: 3, even: false } })
}

/** The searches compared: hybrid, keyword-only, several queries, filtered, ranker none, vector-only; 64-dim unit vectors. */
export function fixtureSearches(): RankedSearchInput[] {
  const words = (ids: number[]) => ids.map((i) => `w${(i * 7919) % 997}x${i % 13}`).join(' ')
  const search = (queries: string[], vectors: string[] | null, extra: Partial<RankedSearchInput> = {}): RankedSearchInput => ({
    queries,
    queryVectors: vectors ? vectors.map((v) => normalize(fakeEmbedding(v, DIMS))) : null,
    maxNumResults: 20,
    ranker: 'auto',
    scoreThreshold: 0,
    where: null,
    ...extra,
  })
  const hybrid = (q: string, extra: Partial<RankedSearchInput> = {}) => search([q], [q], extra)
  return [
    hybrid(words([3, 17, 40])),
    hybrid(words([1, 2])),
    hybrid(words([120, 250, 33, 9]), { maxNumResults: 50 }),
    hybrid(words([5]), { maxNumResults: 5 }),
    hybrid(words([60, 61, 62]), { ranker: 'none' }),
    hybrid(words([11, 12]), { where: "file_id IN ('file-0', 'file-2')" }),
    hybrid(words([70, 80]), { where: "file_id IN ('file-3', 'file-1')", scoreThreshold: 0.3 }),
    search([words([3, 17, 40])], null),
    search([words([200, 201])], null, { maxNumResults: 10 }),
    search([words([4, 8]), words([15, 16, 23])], [words([4, 8]), words([15, 16, 23])]),
    search(['?!'], [words([90, 91])]),
  ]
}

/** A search's results in short: file, score and a digest of the chunk's text, attributes and filename. */
export function digestResults(results: readonly SearchResult[]): string[] {
  return results.map((r) => {
    const content = createHash('sha256')
      .update(JSON.stringify([r.filename, r.attributes, r.content]))
      .digest('hex')
      .slice(0, 16)
    return `${r.file_id} ${r.score} ${content}`
  })
}
