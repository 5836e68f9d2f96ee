import type { Table } from '@lancedb/lancedb'
import { CJK_INDEX, COLUMNS, FTS_INDEX, VECTOR_INDEX, hasCjkTermsColumn, lancedb, vectorDimensions } from './lance-store.js'

/** Rows appended since the last FTS index update before the index is brought up to date (unindexed rows are scanned by every keyword search meanwhile). */
export const REINDEX_AFTER_ROWS = 4096

/**
 * …or this share of the indexed rows, when larger. LanceDB's `optimize` (the only maintenance
 * call its Node API has) compacts every fragment under a million rows, i.e. rewrites the whole
 * table of a store below that size: at a fixed 4,096 rows the work of ingesting a store would grow
 * with the square of its size. Growing the threshold with the store keeps each row rewritten a
 * bounded number of times (≈ 1/share) while keyword search scans at most this share unindexed.
 */
export const REINDEX_SHARE = 1 / 16

/**
 * Appends (one fragment each: a file's chunks) since the last optimize before the next, once the
 * unindexed rows are also COMPACT_SHARE of the indexed ones. Each search opens every fragment and
 * scans the unindexed rows: a store of 20 two-chunk files searched in 44 ms as 20 fragments, 15 ms
 * once optimized (p50, this machine under load). The share keeps a large store of small files
 * from being rewritten whole every few appends (≤ 1/share rewrites per row).
 */
export const COMPACT_AFTER_APPENDS = 8
export const COMPACT_SHARE = 1 / 32

/**
 * Rows from which a store's vectors get an ANN index (IVF-PQ, cosine). Below it an exact scan is
 * cheap and an index would only cost recall; above it the scan's cost grows with the store while
 * the index probes a few partitions (bench/retrieval.bench.ts). The reranker recomputes exact
 * cosines from the stored vectors, so PQ's approximate distances never reach a score.
 */
export const VECTOR_INDEX_MIN_ROWS = 20_000

// Appends since the last optimize, per table handle (handles are shared per process and store,
// vector-index.ts): a count kept in memory, so a restarted writer starts again from 0, which only
// delays one compaction.
const appendsSinceOptimize = new WeakMap<Table, number>()

// Handles whose cjk_terms column is known to have its FTS index; once built, optimize keeps it up to date.
const cjkIndexed = new WeakSet<Table>()

/**
 * The FTS index of the `cjk_terms` column (cjk.ts), built once, by the first maintenance after a
 * write with CJK text (`cjk`), or a forced one that finds such rows: a store of text without CJK
 * never pays for it (its column holds only '', and a CJK query scans it unindexed, cheaply). Split
 * on whitespace only, with no stemming, stop words or folding: its terms are CJK bigrams and
 * lower-cased words. Once built, `optimize` keeps it up to date like the others.
 */
async function ensureCjkIndex(table: Table, cjk: boolean, force: boolean): Promise<void> {
  if (cjkIndexed.has(table) || !(cjk || force)) return
  if (!hasCjkTermsColumn(await table.schema())) return
  if (!cjk && (await table.countRows(`${COLUMNS.cjkTerms} != ''`)) === 0) return
  if (!(await table.indexStats(CJK_INDEX))) {
    const config = lancedb.Index.fts({ baseTokenizer: 'whitespace', lowercase: false, stem: false, removeStopWords: false, asciiFolding: false })
    await table.createIndex(COLUMNS.cjkTerms, { config, replace: true })
  }
  cjkIndexed.add(table)
}

/**
 * Creates the BM25 full-text index and the B-tree on file_id of a table made empty just now: a few
 * ms with no rows. From then on every row is searched through the index's analyzer, folded in or
 * not. Without any index LanceDB scans with a plain one (no lower-casing, no stemming: `Lighthouse`
 * never finds `lighthouses`), so a store's first rows were not properly searchable before a build;
 * with the empty index they are, and folding them in (maintainIndexes) can run behind later writes.
 */
export async function createEmptyIndexes(table: Table): Promise<void> {
  await table.createIndex(COLUMNS.text, { config: lancedb.Index.fts(), replace: true })
  await table.createIndex(COLUMNS.fileId, { config: lancedb.Index.btree(), replace: true })
}

/**
 * Keeps a store's indexes fit for search after a write. Must run on the store's one writer.
 * - A store's first rows are folded into its (empty) indexes at once, whatever their number
 *   (createEmptyIndexes). A store made before that, with no index, gets the BM25 index and the
 *   B-tree on file_id built on its next write (on `force`, after compacting the fragments
 *   written so far).
 * - Once max(REINDEX_AFTER_ROWS, REINDEX_SHARE × indexed) rows are unindexed, or
 *   COMPACT_SHARE × indexed rows are unindexed and COMPACT_AFTER_APPENDS writes happened since
 *   the last time or the writer is `idle` (its queue is empty: no later write will fold them in
 *   soon, and each search scans every unindexed row — about 0.65 ms per row per hybrid query
 *   here, 2.2 s with 3,400 rows of 800 tokens unindexed against 60 ms indexed), or on `force`, LanceDB's
 *   `optimize` runs: compaction of small fragments, index update with the new rows (FTS and
 *   vector), and removal of versions older than ten minutes (no reader holds one that long;
 *   LanceDB's default keeps a week of every rewrite).
 * - Once the store holds `vectorIndexMinRows` vectors, the ANN index is trained once; optimize
 *   keeps adding later rows to it.
 */
export async function maintainIndexes(
  table: Table,
  opts: { force?: boolean; idle?: boolean; vectorIndexMinRows?: number; cjk?: boolean } = {},
): Promise<void> {
  const appends = (appendsSinceOptimize.get(table) ?? 0) + (opts.force || opts.idle ? 0 : 1)
  appendsSinceOptimize.set(table, appends)
  const stats = await table.indexStats(FTS_INDEX)
  // A bulk load into a store whose indexes are still empty builds them as one on a never-indexed store would.
  if (!stats || (opts.force && stats.numIndexedRows === 0)) {
    // A forced round on a store never indexed (a bulk load written with maintenance off) compacts
    // first, as `optimize` promises: a search reads its hits' columns fragment by fragment, at
    // ~0.7 ms of CPU per fragment touched (take of 60 rows: 10 fragments 15 ms, 1 fragment 10 ms,
    // at 100,000 chunks). Compacting before the builds also spares remapping the new indexes.
    if (opts.force) await table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) })
    await table.createIndex(COLUMNS.text, { config: lancedb.Index.fts(), replace: true })
    // B-tree on file_id: every write's "is this file indexed yet?", deletes and filtered searches
    // (`file_id IN (…)`) look rows up by file instead of reading the column of every chunk.
    await table.createIndex(COLUMNS.fileId, { config: lancedb.Index.btree(), replace: true })
    appendsSinceOptimize.set(table, 0)
  } else if (
    opts.force ||
    (stats.numIndexedRows === 0 && stats.numUnindexedRows > 0) ||
    ((appends >= COMPACT_AFTER_APPENDS || (opts.idle && stats.numUnindexedRows > 0)) && stats.numUnindexedRows >= stats.numIndexedRows * COMPACT_SHARE) ||
    stats.numUnindexedRows >= Math.max(REINDEX_AFTER_ROWS, stats.numIndexedRows * REINDEX_SHARE)
  ) {
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) })
    appendsSinceOptimize.set(table, 0)
  }
  await ensureCjkIndex(table, opts.cjk === true, opts.force === true)
  const minRows = opts.vectorIndexMinRows ?? VECTOR_INDEX_MIN_ROWS
  // All rows first (from the manifest, no scan); counting non-null vectors reads the column.
  if ((await table.countRows()) < minRows) return
  const dims = vectorDimensions(await table.schema())
  if (dims === null || (await table.indexStats(VECTOR_INDEX))) return
  const vectors = await table.countRows(`${COLUMNS.vector} IS NOT NULL`)
  if (vectors < minRows) return
  await table.createIndex(COLUMNS.vector, {
    config: lancedb.Index.ivfPq({
      distanceType: 'cosine',
      // Half of LanceDB's default √n partitions, 10 k-means iterations (default 50) on 64 samples
      // per partition (default 256): training is O(samples × partitions × iterations), and with
      // the defaults a 100,000-chunk store took minutes on two cores; recall is held up by
      // probing more partitions at query time (search.ts). 8 dimensions per PQ sub-vector (finer
      // than the default 16) for the short vectors file_search uses (256).
      numPartitions: Math.max(2, Math.round(Math.sqrt(vectors) / 2)),
      maxIterations: 10,
      sampleRate: 64,
      numSubVectors: dims % 8 === 0 ? dims / 8 : undefined,
    }),
    replace: true,
  })
}
