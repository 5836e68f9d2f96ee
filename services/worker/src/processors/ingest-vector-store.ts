import type { ChunkingStrategy, VectorStoreFileLastError } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { type IngestStore, parseIngestItem } from '@threadwork/storage'

/** The write side of one store's index (packages/retrieval `VectorIndex`). */
export interface IndexWriter {
  replaceFileChunks(
    fileId: string,
    chunks: readonly { text: string; vector?: ArrayLike<number> | null }[],
    meta: { filename: string; attributes?: Record<string, string | number | boolean> | null },
  ): Promise<{ chunks: number; usageBytes: number }>
  deleteFile(fileId: string): Promise<void>
  updateAttributes(fileId: string, attributes: Record<string, string | number | boolean> | null): Promise<void>
  usageBytes(): Promise<number>
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
}

const PERMANENT_CODES = new Set(['unsupported_file', 'invalid_file'])

/** An error retrying cannot fix, as OpenAI's `last_error`; null for a transient fault. */
function permanentError(err: unknown): VectorStoreFileLastError | null {
  const e = err as { code?: unknown; status?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && PERMANENT_CODES.has(e.code)) return { code: e.code as 'unsupported_file' | 'invalid_file', message: String(e.message) }
  // The File was deleted between attach and ingestion (the deletion hook removes it from the store too).
  if (e?.status === 404) return { code: 'invalid_file', message: 'The file was deleted before it could be processed.' }
  return null
}

/**
 * Drains one vector store's mailbox: the store's single writer (the drain job is deduplicated per
 * store). Items run in order; each is committed (and popped) in one Lua step, so a SIGKILLed worker's
 * successor finds the same head and repeats it: the index write is a replace per file, so a repeat
 * never duplicates a chunk. A file's attempts are counted before the work, so one that keeps
 * failing (or killing workers) ends `failed` (`server_error`) instead of staying `in_progress`.
 * A transient fault (embeddings upstream down) throws: BullMQ retries the drain with backoff.
 */
export function createIngestProcessor(deps: IngestDeps) {
  const { ingest, log } = deps

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
    while (head) {
      const item = parseIngestItem(head)
      if (item.kind === 'ingest') {
        const done = await ingestFile(project, vectorStoreId, index, fence, head, item.fileId, item.gen)
        if (done === 'fenced') return
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
    await ingest.clearPendingIfIdle(project, vectorStoreId)
  }

  async function ingestFile(project: string, id: string, index: IndexWriter, fence: number, head: string, fileId: string, gen: string): Promise<'ok' | 'fenced'> {
    const started = await ingest.start(project, id, fileId, gen, fence)
    if (started === 'fenced') return 'fenced'
    if (started === 'stale') {
      // Removed, cancelled or attached again: clear whatever an earlier attempt wrote (a newer attach re-ingests it).
      await index.deleteFile(fileId)
      await ingest.pop(project, id, fence, head)
      return 'ok'
    }
    const settle = async (status: 'completed' | 'failed', lastError: VectorStoreFileLastError | null, fileUsageBytes: number) => {
      const outcome = await ingest.settle(project, id, { fence, head, fileId, gen, status, lastError, fileUsageBytes, storeUsageBytes: await index.usageBytes() })
      if (outcome === 'STALE') {
        await index.deleteFile(fileId)
        await ingest.pop(project, id, fence, head)
      }
      log.info({ project, vectorStoreId: id, fileId, status: outcome === 'OK' ? status : outcome, code: lastError?.code }, 'vector store file settled')
      return outcome === 'FENCED' ? 'fenced' : 'ok'
    }
    if (started.attempts > deps.maxFileAttempts) {
      await index.deleteFile(fileId)
      return settle('failed', { code: 'server_error', message: `The file could not be processed after ${deps.maxFileAttempts} attempts.` }, 0)
    }
    let written: { usageBytes: number }
    try {
      const file = await deps.readFile(project, fileId)
      const { text } = await deps.extractText({ bytes: file.bytes, filename: started.filename || file.filename, contentType: file.contentType })
      const chunks = deps.chunk(text, started.chunking_strategy)
      const vectors = deps.embed && chunks.length ? await deps.embed(chunks.map((c) => c.text)) : null
      // A newer attempt (after a lost lock) owns the store now: do not write beside it.
      if ((await ingest.fence(project, id)) !== fence) return 'fenced'
      written = await index.replaceFileChunks(
        fileId,
        chunks.map((c, i) => ({ text: c.text, vector: vectors?.[i] ?? null })),
        { filename: started.filename || file.filename, attributes: started.attributes },
      )
    } catch (err) {
      const permanent = permanentError(err)
      if (permanent) {
        await index.deleteFile(fileId)
        return settle('failed', permanent, 0)
      }
      if (started.attempts >= deps.maxFileAttempts) {
        log.warn({ project, vectorStoreId: id, fileId, err: (err as Error).message }, 'vector store file failed for good')
        await index.deleteFile(fileId).catch(() => {})
        return settle('failed', { code: 'server_error', message: 'The file could not be processed; the server kept failing. Try attaching it again.' }, 0)
      }
      log.warn({ project, vectorStoreId: id, fileId, attempt: started.attempts, err: (err as Error).message }, 'vector store file: transient failure, retrying')
      throw err
    }
    return settle('completed', null, written.usageBytes)
  }
}
