import type { Table } from '@lancedb/lancedb'
import { FTS_INDEX, COLUMNS, lancedb } from './lance-store.js'

/** Rows appended since the last FTS index update before the index is brought up to date (unindexed rows are scanned by every keyword search meanwhile). */
export const REINDEX_AFTER_ROWS = 4096

/**
 * Keeps a store's indexes fit for search after a write: builds the BM25 full-text index on the
 * first write; later, once REINDEX_AFTER_ROWS rows are unindexed (or on `force`), runs LanceDB's
 * `optimize` — compaction of small fragments, index update with the new rows, and removal of
 * versions older than ten minutes (no reader holds one that long; LanceDB's own default keeps a
 * week of every rewrite). Must run on the store's one writer.
 */
export async function maintainIndexes(table: Table, opts: { force?: boolean } = {}): Promise<void> {
  const stats = await table.indexStats(FTS_INDEX)
  if (!stats) {
    await table.createIndex(COLUMNS.text, { config: lancedb.Index.fts(), replace: true })
    return
  }
  if (opts.force || stats.numUnindexedRows >= REINDEX_AFTER_ROWS) {
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) })
  }
}
