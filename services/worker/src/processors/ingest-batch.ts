import type { VectorStoreFileLastError } from '@threadwork/domain'
import type { StartedFile } from '@threadwork/storage'
import { type IngestPrefetch, prepareFile } from './ingest-prefetch.js'
import type { IndexWriter, IngestDeps } from './ingest-vector-store.js'

/** A mailbox item `ingest:<file>:<gen>`, as peeked (never popped before its file settles). */
export interface IngestEntry {
  head: string
  fileId: string
  gen: string
}

/** What one file of a batch comes to before the commit. */
type Slot = { entry: IngestEntry } & (
  | { kind: 'stale' } // removed, cancelled or attached again: its chunks go, its item is popped
  | { kind: 'failed'; error: VectorStoreFileLastError }
  | { kind: 'ready'; started: StartedFile; filename: string; texts: string[]; vectors: Promise<ArrayLike<number>[] | null>; usageBytes: number }
)

const PERMANENT_CODES = new Set(['unsupported_file', 'invalid_file'])

/** An error retrying cannot fix, as OpenAI's `last_error`; null for a transient fault. */
function permanentError(err: unknown): VectorStoreFileLastError | null {
  const e = err as { code?: unknown; status?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && PERMANENT_CODES.has(e.code)) return { code: e.code as 'unsupported_file' | 'invalid_file', message: String(e.message) }
  // The File was deleted between attach and ingestion (the deletion hook removes it from the store too).
  if (e?.status === 404) return { code: 'invalid_file', message: 'The file was deleted before it could be processed.' }
  return null
}

const gaveUp = (attempts: number): VectorStoreFileLastError => ({ code: 'server_error', message: `The file could not be processed after ${attempts} attempts.` })
const keptFailing: VectorStoreFileLastError = { code: 'server_error', message: 'The file could not be processed; the server kept failing. Try attaching it again.' }

/**
 * Ingests a run of `ingest` items from the head of one store's mailbox as one batch: checks each
 * file (startVectorStoreFile: still attached at this generation?), reads, extracts and chunks
 * them one after another while the earlier files' embeddings are in flight (one file's request
 * at a time), writes every file's chunks in one index commit (`replaceFilesChunks`: an
 * idempotent replace keyed on `<file>:<n>`), then settles each file in mailbox order, each in one
 * Lua step that checks the fence, the head and the file's generation and pops it. A crash
 * anywhere leaves the unsettled items at the head: the next claim redoes them, the replace makes
 * the redo exact.
 *
 * The batch takes files while it holds fewer than `batchMaxFiles` and under `batchMaxTextBytes`
 * of extracted text. Only its first file to be worked on is charged an attempt; the others are
 * checked without counting, and one already charged by an earlier attempt that did not finish
 * waits for a batch it leads. A charged file that comes back (a retry) goes alone. So a crash or
 * a transient failure costs one file one attempt: a file that kills workers costs each file ahead
 * of it in its batch at most one attempt, then uses up its own, and every crash charges some
 * file, so the drain ends (at most files × (INGEST_MAX_FILE_ATTEMPTS + 1) crashes). `entries`
 * may run past the batch: with `prefetch`, the files after it are prepared while this batch's
 * index commit runs (ingest-prefetch.ts), never started or charged before their own batch. Returns how
 * many items it settled, or 'fenced' when a newer claim owns the store. Throws a transient fault
 * (embeddings upstream down) for BullMQ to retry, unless the files to write are all on their last
 * attempt: those end `failed` (`server_error`).
 */
export async function ingestBatch(
  deps: IngestDeps,
  project: string,
  id: string,
  index: IndexWriter,
  fence: number,
  entries: readonly IngestEntry[],
  prefetch?: IngestPrefetch,
): Promise<number | 'fenced'> {
  const { ingest, log } = deps
  const slots: Slot[] = []
  const maxFiles = deps.batchMaxFiles ?? 16
  const maxBytes = deps.batchMaxTextBytes ?? 16_000_000
  let textBytes = 0
  // Embedding requests go out one file after another while the next files are read and chunked.
  let inFlight: Promise<unknown> = Promise.resolve()
  for (const entry of entries) {
    if (slots.length >= maxFiles || textBytes >= maxBytes) break
    // Only the batch's first file to be worked on is charged an attempt: see the doc comment.
    const first = !slots.some((s) => s.kind === 'ready')
    const started = await ingest.start(project, id, entry.fileId, entry.gen, fence, { count: first })
    if (started === 'fenced') return 'fenced'
    if (started === 'stale') {
      slots.push({ entry, kind: 'stale' })
      continue
    }
    // Charged as the first file of an earlier attempt that did not finish: it goes first itself.
    if (!first && started.attempts > 0) break
    if (started.attempts > deps.maxFileAttempts) {
      slots.push({ entry, kind: 'failed', error: gaveUp(deps.maxFileAttempts) })
      continue
    }
    let prepared: { filename: string; texts: string[]; vectors: Promise<ArrayLike<number>[] | null> }
    try {
      // Prepared while the previous batch was written (ingest-prefetch.ts), or now.
      const file =
        (await prefetch?.take(entry, started.chunking_strategy)) ??
        (await prepareFile(deps, project, entry.fileId, started.chunking_strategy, inFlight, started.filename))
      textBytes += file.textLength
      const embed = deps.embed
      const after = inFlight
      // A prefetched file's request failed: asked again in line, as a file prepared now would be.
      const vectors = embed && file.texts.length > 0 ? file.vectors.catch(() => after.then(() => embed(file.texts))) : file.vectors
      vectors.catch(() => {})
      prepared = { filename: started.filename || file.filename, texts: file.texts, vectors }
    } catch (err) {
      const permanent = permanentError(err)
      if (permanent) slots.push({ entry, kind: 'failed', error: permanent })
      else if (first && started.attempts >= deps.maxFileAttempts) {
        log.warn({ project, vectorStoreId: id, fileId: entry.fileId, err: (err as Error).message }, 'vector store file failed for good')
        slots.push({ entry, kind: 'failed', error: keptFailing })
      } else {
        log.warn({ project, vectorStoreId: id, fileId: entry.fileId, attempt: started.attempts, err: (err as Error).message }, 'vector store file: transient failure, retrying')
        throw err
      }
      continue
    }
    // The next file's request queues behind this one's (one file's embeddings in flight at a time,
    // as before batching); a failure here fails it too, without a call.
    inFlight = prepared.vectors
    slots.push({ entry, kind: 'ready', started, ...prepared, usageBytes: 0 })
    // A retry goes alone.
    if (first && started.attempts > 1) break
  }

  const ready = slots.filter((s): s is Extract<Slot, { kind: 'ready' }> => s.kind === 'ready')
  if (ready.length > 0) {
    try {
      const files = []
      for (const slot of ready) {
        const vectors = await slot.vectors
        files.push({
          fileId: slot.entry.fileId,
          chunks: slot.texts.map((text, i) => ({ text, vector: vectors?.[i] ?? null })),
          filename: slot.filename,
          attributes: slot.started.attributes,
        })
      }
      // The mailbox's next files are read and chunked on this thread while LanceDB writes these on its own.
      prefetch?.warm(entries.slice(slots.length), ready.at(-1)!.started.chunking_strategy, { maxFiles, maxTextLength: maxBytes })
      // A newer attempt (after a lost lock) owns the store now: do not write beside it.
      if ((await ingest.fence(project, id)) !== fence) return 'fenced'
      // More files queued behind these: folding them into the index overlaps the next batch (vector-index.ts).
      const written = await index.replaceFilesChunks(files, { background: entries.length > slots.length })
      ready.forEach((slot, i) => {
        slot.usageBytes = written[i]!.usageBytes
      })
    } catch (err) {
      if (!ready.every((s) => s.started.attempts >= deps.maxFileAttempts)) {
        log.warn({ project, vectorStoreId: id, files: ready.length, err: (err as Error).message }, 'vector store files: transient failure, retrying')
        throw err
      }
      log.warn({ project, vectorStoreId: id, files: ready.length, err: (err as Error).message }, 'vector store files failed for good')
      for (const slot of ready) slots[slots.indexOf(slot)] = { entry: slot.entry, kind: 'failed', error: keptFailing }
    }
  }
  return settleInOrder(deps, project, id, index, fence, slots)
}

/** Commits each slot's outcome in mailbox order (each its own Lua step); see ingestBatch. */
async function settleInOrder(deps: IngestDeps, project: string, id: string, index: IndexWriter, fence: number, slots: Slot[]): Promise<number | 'fenced'> {
  const { ingest, log } = deps
  // Whatever an earlier attempt wrote for a file that ends failed goes before the store's usage is read.
  for (const slot of slots) if (slot.kind === 'failed') await index.deleteFile(slot.entry.fileId)
  let storeUsageBytes: number | null = null
  let settled = 0
  for (const slot of slots) {
    const { head, fileId, gen } = slot.entry
    if (slot.kind === 'stale') {
      // Clear whatever an earlier attempt wrote (a newer attach re-ingests it).
      await index.deleteFile(fileId)
      storeUsageBytes = null
      // Not popped (no longer ours, or no longer the head): the drain's fence check decides.
      await ingest.pop(project, id, fence, head)
      settled++
      continue
    }
    const status = slot.kind === 'ready' ? 'completed' : 'failed'
    const lastError = slot.kind === 'failed' ? slot.error : null
    const fileUsageBytes = slot.kind === 'ready' ? slot.usageBytes : 0
    storeUsageBytes ??= await index.usageBytes()
    const outcome = await ingest.settle(project, id, { fence, head, fileId, gen, status, lastError, fileUsageBytes, storeUsageBytes })
    if (outcome === 'STALE') {
      await index.deleteFile(fileId)
      storeUsageBytes = null
      await ingest.pop(project, id, fence, head)
    }
    log.info({ project, vectorStoreId: id, fileId, status: outcome === 'OK' ? status : outcome, code: lastError?.code }, 'vector store file settled')
    if (outcome === 'FENCED') return 'fenced'
    settled++
  }
  return settled
}
