import type { Table } from '@lancedb/lancedb'
import type * as Arrow from 'apache-arrow'
import { cjkTerms, hasCjk } from './cjk.js'
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
  /** The table has the `cjk_terms` column: queries holding CJK also search it (cjk.ts). */
  cjkTerms?: boolean
}

/** Columns a result needs (and the reranker: the text), read for the fused candidates only. */
const RESULT_COLUMNS = [COLUMNS.fileId, COLUMNS.filename, COLUMNS.attributes, COLUMNS.text]

/** Candidates per first-stage list: enough for fusion and reranking to change the top `max`. */
const candidatesFor = (max: number) => Math.min(100, Math.max(40, max * 2))

/** Tries of a search whose rows moved between its lists and the read of their columns (see rankedSearch). */
const ATTEMPTS = 3

/**
 * Runs every query's keyword (BM25 over LanceDB's FTS index; unindexed rows are scanned) and
 * vector (cosine) search at once, fuses all lists by RRF, scores and reranks (rank.ts), drops
 * results under `scoreThreshold` and returns the best `maxNumResults`.
 *
 * With several lists (hybrid, several queries) in two steps: the lists are row ids only
 * (`_rowid`), then the columns are read once, for the fused candidates only — one read of
 * ≤ max(40, 3 × max) rows instead of one per list of every list's hits (at 100,000 chunks the
 * lists' own reads were ~half of each list's CPU; the hybrid search's CPU fell by a tenth). A
 * single list (keyword-only) reads its columns itself: all its hits are candidates, and a second
 * call would only add LanceDB's fixed cost per query.
 *
 * Row ids are addresses (fragment, offset): a compaction or update committed between the two
 * steps moves rows, and reading a moved row's old address returns nothing (Lance never reuses a
 * fragment id), never another row. So a read that comes back short means the lists are stale:
 * the search runs again, up to ATTEMPTS times; the last keeps the rows still found (those of a
 * file deleted meanwhile are rightly gone).
 */
export async function rankedSearch(table: Table, hasVectors: boolean, input: RankedSearchInput): Promise<SearchResult[]> {
  for (let attempt = 1; ; attempt++) {
    const results = await rankedSearchOnce(table, hasVectors, input, attempt >= ATTEMPTS)
    if (results) return results
  }
}

/** One try of rankedSearch; null when rows moved meanwhile and `last` is false. */
async function rankedSearchOnce(table: Table, hasVectors: boolean, input: RankedSearchInput, last: boolean): Promise<SearchResult[] | null> {
  const k = candidatesFor(input.maxNumResults)
  const vectors = hasVectors && input.queryVectors && input.queryVectors.length > 0 ? input.queryVectors : null
  const keywordQueries = input.queries.filter((query) => /[\p{L}\p{N}]/u.test(query))
  // A CJK query's words are whole sentences to the text index (cjk.ts): its bigrams search the
  // cjk_terms column as one more keyword list. Other queries skip it, so their cost is unchanged.
  const cjkQueries = input.cjkTerms ? keywordQueries.filter(hasCjk).map((query) => cjkTerms(query, true)) : []
  // Chunk vectors only when the reranker compares them with query vectors: a keyword-only search
  // of a store that has vectors need not read that column (1 KB per row at 256 dims).
  const columns = [...RESULT_COLUMNS, ...(vectors ? [COLUMNS.vector] : [])]
  const single = keywordQueries.length + cjkQueries.length + (vectors?.length ?? 0) === 1
  const lists = await Promise.all([
    ...keywordQueries.map((query) => keywordSearch(table, query, k, input.where, single ? columns : [])),
    ...cjkQueries.map((terms) => keywordSearch(table, terms, k, input.where, [], COLUMNS.cjkTerms)),
    ...(vectors ?? []).map((vector) => vectorSearch(table, vector, k, input.where, single ? columns : [])),
  ])
  const fused = fuseRankings(lists.map(rowIdsOf)).slice(0, Math.max(k, input.maxNumResults * 3))
  if (fused.length === 0) return []
  const rows = single
    ? candidatesOf(lists[0]!)
    : candidatesOf(
        await table
          .takeRowIds(fused.map((f) => f.key))
          .select(columns)
          .withRowId()
          .toArrow(),
      )
  if (rows.size < fused.length && !last) return null
  const candidates = fused.flatMap((f) => {
    const candidate = rows.get(f.key)
    return candidate ? [{ candidate, rrf: f.rrf }] : []
  })
  const scored = scoreCandidates(candidates, {
    queries: input.queries,
    queryVectors: vectors,
    listCount: lists.length,
    rerank: input.ranker !== 'none',
  })
  return scored
    .filter((s) => s.score >= input.scoreThreshold)
    .slice(0, input.maxNumResults)
    .map(toResult)
}

const ROW_ID = '_rowid'

/** A BM25 list: row ids, scores and `columns`, best first. */
function keywordSearch(
  table: Table,
  query: string,
  k: number,
  where: string | null,
  columns: readonly string[],
  column: string = COLUMNS.text,
): Promise<Arrow.Table> {
  // `_score` asked for explicitly: Lance adds it anyway, and logs a deprecation warning per query when it is not.
  let q = table
    .query()
    .fullTextSearch(query, { columns: column })
    .select([...columns, ROW_ID, '_score'])
    .limit(k)
  if (where) q = q.where(where)
  return q.toArrow()
}

/** A cosine list: row ids, distances and `columns`, best first. */
function vectorSearch(table: Table, vector: Float32Array, k: number, where: string | null, columns: readonly string[]): Promise<Arrow.Table> {
  let q = table
    .vectorSearch(vector)
    .column(COLUMNS.vector)
    .distanceType('cosine')
    // Used only once the store has an ANN index (maintenance.ts): probe more partitions than the
    // default 20, for recall. No refine step (re-reading 2k vectors to re-sort by exact distance):
    // the reranker recomputes exact cosines of every fused candidate anyway, and the refine's
    // random reads were half the vector search's time at 100,000 chunks (bench/retrieval.bench.ts).
    .nprobes(32)
    .select([...columns, ROW_ID, '_distance'])
    .limit(k)
  if (where) q = q.where(where)
  return q.toArrow()
}

/** A list's row ids, best first. */
function rowIdsOf(result: Arrow.Table): bigint[] {
  const out: bigint[] = []
  for (const batch of result.batches) {
    const ids = batch.getChild(ROW_ID) as Arrow.Vector<Arrow.Uint64>
    for (let i = 0; i < batch.numRows; i++) out.push(ids.get(i)!)
  }
  return out
}

/**
 * The chunks of a result holding RESULT_COLUMNS (and maybe the vector), by row id. Read column
 * by column: LanceDB's `toArray()` makes a row proxy per row whose every field read walks Arrow's
 * visitors; here strings are decoded once per cell and each vector is a view (no copy) into the
 * result's Float32 buffer, which lives as long as the candidates (one search).
 */
function candidatesOf(result: Arrow.Table): Map<bigint, Candidate> {
  const out = new Map<bigint, Candidate>()
  for (const batch of result.batches) {
    const [fileIds, filenames, attributes, texts] = RESULT_COLUMNS.map((name) => batch.getChild(name)!) as Arrow.Vector<Arrow.Utf8>[]
    const ids = batch.getChild(ROW_ID) as Arrow.Vector<Arrow.Uint64>
    const vectors = batch.getChild(COLUMNS.vector) as Arrow.Vector<Arrow.FixedSizeList<Arrow.Float32>> | null
    const data = vectors?.data[0]
    const width = data ? data.type.listSize : 0
    const child = data?.children[0] as Arrow.Data<Arrow.Float32> | undefined
    for (let i = 0; i < batch.numRows; i++) {
      let vector: Float32Array | null = null
      // Arrow JS keeps a Data's buffers and children already sliced to its offset (its own
      // `get` reads child element i × width): only the validity bitmap is offset, in getValid.
      if (data && child && data.getValid(i)) vector = child.values.subarray(i * width, (i + 1) * width)
      out.set(ids.get(i)!, {
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
