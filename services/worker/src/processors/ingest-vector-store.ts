import type { ChunkingStrategy } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import type { FileChunks } from '@threadwork/retrieval'
import { type IngestStore, parseIngestItem } from '@threadwork/storage'
import { type IngestEntry, ingestBatch } from './ingest-batch.js'
import { createIngestPrefetch } from './ingest-prefetch.js'

/** The write side of one store's index (packages/retrieval `VectorIndex`). */
export interface IndexWriter {
  /**
   * Several files' chunks in one commit (each file's replaced whole, idempotently); results in
   * input order. `background`: more batches follow, so the index maintenance may run behind them.
   */
  replaceFilesChunks(files: readonly FileChunks[], opts?: { background?: boolean }): Promise<{ chunks: number; usageBytes: number }[]>
  deleteFile(fileId: string): Promise<void>
  updateAttributes(fileId: string, attributes: Record<string, string | number | boolean> | null): Promise<void>
  usageBytes(): Promise<number>
  /** The index maintenance for a writer whose queue is empty (packages/retrieval `VectorIndex.maintain`). */
  maintain(opts: { idle: boolean }): Promise<void>
}

export interface IngestDeps {
  ingest: IngestStore
  log: Logger
  /** A File's bytes; throws (404) when the File is gone. */
  readFile(project: string, fileId: string): Promise<{ bytes: Uint8Array; filename: string; contentType?: string | null }>
  /** Text of a file; throws an error with `code` `unsupported_file` | `invalid_file` for a file it cannot read. */
  extractText(input: { bytes: Uint8Array; filename: string; contentType?: string | null }): Promise<{ text: string }>
  /** Chunks by tokens with the file's (resolved) strategy. */
  chunk(text: string, strategy: ChunkingStrategy): { text: string }[]
  /** Vectors of the chunks in order; null: no embedding model (keyword-only index). */
  embed: ((texts: string[]) => Promise<ArrayLike<number>[]>) | null
  openIndex(vectorStoreId: string): Promise<IndexWriter>
  dropIndex(vectorStoreId: string): Promise<void>
  /** Attempts at one file (crashes included) before it ends `failed` with `server_error`. */
  maxFileAttempts: number
  /** Files ingested together in one index commit (INGEST_BATCH_FILES); default 16. */
  batchMaxFiles?: number
  /** A batch takes no further file once its files' extracted text reaches this (UTF-16 code units); default 16,000,000. */
  batchMaxTextBytes?: number
}

/**
 * Drains one vector store's mailbox: the store's single writer (the drain job is deduplicated per
 * store). Items run in order; a run of `ingest` items at the head is ingested as one batch
 * (ingest-batch.ts: one index commit, then each file committed and popped in its own Lua step;
 * the next batch's files are read and chunked while that commit runs, ingest-prefetch.ts),
 * so a SIGKILLed worker's successor finds the unsettled items at the head and repeats them: the
 * index write is a replace per file, so a repeat never duplicates a chunk. A file's attempts are
 * counted before the work, so one that keeps failing (or killing workers) ends `failed`
 * (`server_error`) instead of staying `in_progress`. A transient fault (embeddings upstream down)
 * throws: BullMQ retries the drain with backoff.
 */
export function createIngestProcessor(deps: IngestDeps) {
  const { ingest, log } = deps
  const batchMaxFiles = deps.batchMaxFiles ?? 16

  return async function drainVectorStore(project: string, vectorStoreId: string): Promise<void> {
    let { fence, head } = await ingest.claim(project, vectorStoreId)
    if (!(await ingest.storeExists(project, vectorStoreId))) {
      // Deleted: its writer drops the index (after any write of an earlier attempt).
      await deps.dropIndex(vectorStoreId)
      await ingest.forget(project, vectorStoreId)
      await ingest.clearPendingIfIdle(project, vectorStoreId)
      log.info({ project, vectorStoreId }, 'vector store index dropped')
      return
    }
    const index = await deps.openIndex(vectorStoreId)
    const prefetch = createIngestPrefetch(deps, project)
    while (head) {
      const item = parseIngestItem(head)
      if (item.kind === 'ingest') {
        const entries: IngestEntry[] = []
        // This batch's candidates and the next one's (prepared while this one is written).
        for (const next of await ingest.peek(project, vectorStoreId, 2 * batchMaxFiles)) {
          const parsed = parseIngestItem(next)
          if (parsed.kind !== 'ingest') break // deletes and attribute updates keep their place in line
          entries.push({ head: next, fileId: parsed.fileId, gen: parsed.gen })
        }
        if ((await ingestBatch(deps, project, vectorStoreId, index, fence, entries, prefetch)) === 'fenced') return
      } else {
        if (item.kind === 'delete') await index.deleteFile(item.fileId)
        else if (item.kind === 'attrs') {
          const attributes = await ingest.attributes(project, vectorStoreId, item.fileId)
          if (attributes !== undefined) await index.updateAttributes(item.fileId, attributes)
        } else log.warn({ project, vectorStoreId, item: head }, 'dropping unknown vector store mailbox item')
        if (item.kind === 'delete') await ingest.setUsage(project, vectorStoreId, await index.usageBytes())
        if (!(await ingest.pop(project, vectorStoreId, fence, head))) return
      }
      // Still ours? A newer claim means another attempt owns the store now.
      if ((await ingest.fence(project, vectorStoreId)) !== fence) return
      head = await ingest.head(project, vectorStoreId)
    }
    // Queue empty: fold what this drain wrote into the indexes now if it is a large share of the
    // store, rather than have every search scan it until some later write (maintenance.ts).
    // Best effort: the files are committed and searchable already; a failure here only delays it.
    await index.maintain({ idle: true }).catch((err: Error) => log.warn({ project, vectorStoreId, err: err.message }, 'vector store index maintenance failed'))
    await ingest.clearPendingIfIdle(project, vectorStoreId)
  }
}
