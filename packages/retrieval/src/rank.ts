import { coverageScorer } from './lexical.js'

/** A fused candidate's chunk, as read for scoring and the result. */
export interface Candidate {
  fileId: string
  filename: string
  /** The file's attributes as stored (JSON). */
  attributes: string
  text: string
  vector: Float32Array | null
}

/** Reciprocal rank fusion's constant (Cormack, Clarke & Büttcher, SIGIR 2009; also LanceDB's RRFReranker default). */
export const RRF_K = 60

export interface Fused<K> {
  /** The chunk's key in the lists (LanceDB's `_rowid`). */
  key: K
  /** Σ over lists of 1 / (RRF_K + rank), rank from 1. */
  rrf: number
}

/**
 * Reciprocal rank fusion of ranked lists of chunk keys (each query's keyword and vector
 * results): a chunk scores Σ 1/(60 + rank) over the lists it appears in; best first, ties by
 * first appearance.
 */
export function fuseRankings<K>(lists: readonly (readonly K[])[]): Fused<K>[] {
  const byKey = new Map<K, Fused<K>>()
  for (const list of lists) {
    list.forEach((key, i) => {
      const add = 1 / (RRF_K + i + 1)
      const entry = byKey.get(key)
      if (entry) entry.rrf += add
      else byKey.set(key, { key, rrf: add })
    })
  }
  return [...byKey.values()].sort((a, b) => b.rrf - a.rrf)
}

export interface Scored {
  candidate: Candidate
  rrf: number
  /** 0..1, comparable across stores and searches (see scoreCandidates). */
  score: number
}

// Weights of the score's parts. Meaning (cosine) and words (query-term coverage) count alike;
// agreement of the first-stage rankings (RRF, normalised) breaks near-ties, e.g. between chunks
// that contain every query word, in favour of the one BM25 and the vectors both put first.
const W_SEMANTIC = 0.45
const W_LEXICAL = 0.45
const W_RANK = 0.1
const W_LEXICAL_ONLY = 0.9

/**
 * Second stage: scores each fused candidate in [0, 1] from features of the chunk itself, not
 * only its ranks, so `score_threshold` means the same in every store:
 * - semantic: the best cosine similarity between a query vector and the chunk's vector (exact,
 *   recomputed from the stored vectors, so approximate first-stage distances do not leak in),
 *   floored at 0;
 * - lexical: the best share of a query's (length-weighted, stop-word-free) terms the chunk holds;
 * - rank: the chunk's RRF score over the best possible (first in every list).
 * Hybrid: 0.45·semantic + 0.45·lexical + 0.1·rank; keyword-only: 0.9·lexical + 0.1·rank.
 *
 * `rerank: true` (rankers `auto`, `default-2024-11-15`, `default_2024_08_21`) orders by this
 * score; `false` (ranker `none`) keeps the fusion order and only attaches the score.
 */
export function scoreCandidates(
  fused: readonly { candidate: Candidate; rrf: number }[],
  opts: { queries: readonly string[]; queryVectors: readonly Float32Array[] | null; listCount: number; rerank: boolean },
): Scored[] {
  const coverage = coverageScorer(opts.queries)
  const bestRrf = opts.listCount / (RRF_K + 1)
  const hybrid = opts.queryVectors !== null && opts.queryVectors.length > 0
  const scored = fused.map((f): Scored => {
    const lexical = coverage(f.candidate.text)
    const rank = bestRrf > 0 ? Math.min(1, f.rrf / bestRrf) : 0
    let score: number
    if (hybrid) {
      let semantic = 0
      const v = f.candidate.vector
      if (v) for (const q of opts.queryVectors!) semantic = Math.max(semantic, dot(q, v))
      score = W_SEMANTIC * Math.min(1, semantic) + W_LEXICAL * lexical + W_RANK * rank
    } else {
      score = W_LEXICAL_ONLY * lexical + W_RANK * rank
    }
    return { candidate: f.candidate, rrf: f.rrf, score: Math.min(1, Math.max(0, score)) }
  })
  if (opts.rerank) scored.sort((a, b) => b.score - a.score || b.rrf - a.rrf)
  return scored
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!
  return sum
}
