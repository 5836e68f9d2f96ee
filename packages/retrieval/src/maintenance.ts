import type { Table } from '@lancedb/lancedb'
import { COLUMNS, FTS_INDEX, VECTOR_INDEX, lancedb, vectorDimensions } from './lance-store.js'

/** Rows appended since the last FTS index update before the index is brought up to date (unindexed rows are scanned by every keyword search meanwhile). */
export const REINDEX_AFTER_ROWS = 4096

/**
 * Rows from which a store's vectors get an ANN index (IVF-PQ, cosine). Below it an exact scan is
 * cheap and an index would only cost recall; above it the scan's cost grows with the store while
 * the index probes a few partitions (bench/retrieval.bench.ts). The reranker recomputes exact
 * cosines from the stored vectors, so PQ's approximate distances never reach a score.
 */
export const VECTOR_INDEX_MIN_ROWS = 20_000

/**
 * Keeps a store's indexes fit for search after a write. Must run on the store's one writer.
 * - The BM25 full-text index and a B-tree on file_id are built on the first write.
 * - Once REINDEX_AFTER_ROWS rows are unindexed (or on `force`), LanceDB's `optimize` runs:
 *   compaction of small fragments, index update with the new rows (FTS and vector), and removal
 *   of versions older than ten minutes (no reader holds one that long; LanceDB's default keeps a
 *   week of every rewrite).
 * - Once the store holds `vectorIndexMinRows` vectors, the ANN index is trained once; optimize
 *   keeps adding later rows to it.
 */
export async function maintainIndexes(table: Table, opts: { force?: boolean; vectorIndexMinRows?: number } = {}): Promise<void> {
  const stats = await table.indexStats(FTS_INDEX)
  if (!stats) {
    await table.createIndex(COLUMNS.text, { config: lancedb.Index.fts(), replace: true })
    // B-tree on file_id: every write's "is this file indexed yet?", deletes and filtered searches
    // (`file_id IN (…)`) look rows up by file instead of reading the column of every chunk.
    await table.createIndex(COLUMNS.fileId, { config: lancedb.Index.btree(), replace: true })
  } else if (opts.force || stats.numUnindexedRows >= REINDEX_AFTER_ROWS) {
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) })
  }
  const minRows = opts.vectorIndexMinRows ?? VECTOR_INDEX_MIN_ROWS
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
