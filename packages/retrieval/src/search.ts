import type { Table } from '@lancedb/lancedb'
import type * as Arrow from 'apache-arrow'
import type { Embedder } from './embedder.js'
import { normalize } from './embedder.js'
import type { Attributes } from './filters.js'
import { COLUMNS } from './lance-store.js'
import { type Candidate, type Scored, fuseRankings, scoreCandidates } from './rank.js'

/** OpenAI's rankers (vector store search: `auto`, `default-2024-11-15`, `none`; file_search tool: `auto`, `default_2024_08_21`). */
export type Ranker = 'auto' | 'none' | 'default-2024-11-15' | 'default_2024_08_21'

/** file_search's default `max_num_results` (OpenAI: 20 for gpt-4* models); the search endpoint's is 10 (the caller passes it). */
export const DEFAULT_MAX_NUM_RESULTS = 20
export const MAX_NUM_RESULTS = 50

/** One search result: a chunk, in the shape of OpenAI's `VectorStoreSearchResultItem`. */
export interface SearchResult {
  file_id: string
  filename: string
  /** 0..1, higher is more relevant (see rank.ts scoreCandidates). */
  score: number
  attributes: Attributes
  content: { type: 'text'; text: string }[]
}

export interface RankedSearchInput {
  queries: readonly string[]
  /** Unit-length (normalised here anyway) query vectors; null: keyword-only. */
  queryVectors: readonly Float32Array[] | null
  maxNumResults: number
  ranker: Ranker
  scoreThreshold: number
  /** SQL restricting rows to the allowed files, or null for all. Built by the index from checked ids only. */
  where: string | null
}

const SELECT = [COLUMNS.id, COLUMNS.fileId, COLUMNS.filename, COLUMNS.attributes, COLUMNS.text]

/** Candidates per first-stage list: enough for fusion and reranking to change the top `max`. */
const candidatesFor = (max: number) => Math.min(100, Math.max(40, max * 2))

/**
 * Runs every query's keyword (BM25 over LanceDB's FTS index; unindexed rows are scanned) and
 * vector (cosine) search at once, fuses all lists by RRF, scores and reranks (rank.ts), drops
 * results under `scoreThreshold` and returns the best `maxNumResults`.
 */
export async function rankedSearch(table: Table, hasVectors: boolean, input: RankedSearchInput): Promise<SearchResult[]> {
  const k = candidatesFor(input.maxNumResults)
  const vectors = hasVectors ? input.queryVectors : null
  const lists: Promise<Candidate[]>[] = []
  // Keyword hits carry their chunk's vector only when the reranker compares it with query vectors:
  // a keyword-only search of a store that has vectors need not read that column (a 1 KB read per hit at 256 dims).
  for (const query of input.queries) {
    if (/[\p{L}\p{N}]/u.test(query)) lists.push(keywordSearch(table, query, k, input.where, (vectors?.length ?? 0) > 0))
  }
  for (const vector of vectors ?? []) lists.push(vectorSearch(table, vector, k, input.where))
  const ranked = await Promise.all(lists)
  const fused = fuseRankings(ranked).slice(0, Math.max(k, input.maxNumResults * 3))
  const scored = scoreCandidates(fused, {
    queries: input.queries,
    queryVectors: vectors,
    listCount: ranked.length,
    rerank: input.ranker !== 'none',
  })
  return scored
    .filter((s) => s.score >= input.scoreThreshold)
    .slice(0, input.maxNumResults)
    .map(toResult)
}

async function keywordSearch(table: Table, query: string, k: number, where: string | null, withVectors: boolean): Promise<Candidate[]> {
  let q = table
    .query()
    .fullTextSearch(query, { columns: COLUMNS.text })
    .select([...SELECT, ...(withVectors ? [COLUMNS.vector] : []), '_score'])
    .limit(k)
  if (where) q = q.where(where)
  return candidatesOf(await q.toArrow())
}

async function vectorSearch(table: Table, vector: Float32Array, k: number, where: string | null): Promise<Candidate[]> {
  let q = table
    .vectorSearch(vector)
    .column(COLUMNS.vector)
    .distanceType('cosine')
    // Used only once the store has an ANN index (maintenance.ts): probe more partitions than the
    // default 20, for recall. No refine step (re-reading 2k vectors to re-sort by exact distance):
    // the reranker recomputes exact cosines of every fused candidate anyway, and the refine's
    // random reads were half the vector search's time at 100,000 chunks (bench/retrieval.bench.ts).
    .nprobes(32)
    .select([...SELECT, COLUMNS.vector, '_distance'])
    .limit(k)
  if (where) q = q.where(where)
  return candidatesOf(await q.toArrow())
}

/**
 * A first-stage result as candidates, read column by column: LanceDB's `toArray()` makes a row
 * proxy per row whose every field read walks Arrow's visitors, and the vectors were copied out of
 * them; here strings are decoded once per cell and each vector is a view (no copy) into the
 * result's Float32 buffer, which lives as long as the candidates (one search).
 */
function candidatesOf(result: Arrow.Table): Candidate[] {
  const out: Candidate[] = []
  for (const batch of result.batches) {
    const strings = (name: string) => batch.getChild(name)!
    const [ids, fileIds, filenames, attributes, texts] = SELECT.map(strings) as Arrow.Vector<Arrow.Utf8>[]
    const vectors = batch.getChild(COLUMNS.vector) as Arrow.Vector<Arrow.FixedSizeList<Arrow.Float32>> | null
    const data = vectors?.data[0]
    const width = data ? data.type.listSize : 0
    const child = data?.children[0] as Arrow.Data<Arrow.Float32> | undefined
    for (let i = 0; i < batch.numRows; i++) {
      let vector: Float32Array | null = null
      // Arrow JS keeps a Data's buffers and children already sliced to its offset (its own
      // `get` reads child element i × width): only the validity bitmap is offset, in getValid.
      if (data && child && data.getValid(i)) vector = child.values.subarray(i * width, (i + 1) * width)
      out.push({
        id: ids!.get(i)!,
        fileId: fileIds!.get(i)!,
        filename: filenames!.get(i)!,
        attributes: attributes!.get(i)!,
        text: texts!.get(i)!,
        vector,
      })
    }
  }
  return out
}

function toResult(s: Scored): SearchResult {
  const c = s.candidate
  return {
    file_id: c.fileId,
    filename: c.filename,
    score: Math.round(s.score * 1e6) / 1e6,
    attributes: parseAttributes(c.attributes),
    content: [{ type: 'text', text: c.text }],
  }
}

export function parseAttributes(json: string): Attributes {
  try {
    const value = JSON.parse(json) as unknown
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Attributes) : {}
  } catch {
    return {}
  }
}

/** Query vectors: the caller's (normalised), else the embedder's, else none (keyword-only). */
export async function queryVectorsFor(
  queries: readonly string[],
  given: readonly ArrayLike<number>[] | null | undefined,
  embedder: Embedder | null,
  dimensions: number | null,
  signal: AbortSignal | undefined,
): Promise<Float32Array[] | null> {
  if (dimensions === null) return null
  let vectors: Float32Array[] | null = null
  if (given && given.length > 0) vectors = given.map(normalize)
  else if (embedder && queries.length > 0) vectors = (await embedder.embed(queries, signal ? { signal } : {})).vectors
  // Vectors of another width (the embedding model changed since this store was indexed) cannot
  // be compared: the search falls back to keywords rather than failing.
  if (!vectors || vectors.some((v) => v.length !== dimensions)) return null
  return vectors
}
