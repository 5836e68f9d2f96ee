import type { ChunkingStrategy } from '@threadwork/domain'
import type { IngestEntry } from './ingest-batch.js'
import type { IngestDeps } from './ingest-vector-store.js'

/** A file read, extracted and chunked, its embeddings requested: what a batch writes for it. */
export interface PreparedFile {
  /** The File's own name (the store file's recorded name, when it has one, wins). */
  filename: string
  /** Length of the extracted text in UTF-16 code units (the batch's `batchMaxTextBytes` budget). */
  textLength: number
  texts: string[]
  /** The chunks' vectors in order; null without an embedding model. May reject (transient upstream fault). */
  vectors: Promise<ArrayLike<number>[] | null>
}

type PrepareDeps = Pick<IngestDeps, 'readFile' | 'extractText' | 'chunk' | 'embed'>

/**
 * Reads, extracts (by `filename`, default the File's own name) and chunks one File with `strategy`, then requests its embeddings once
 * `embedAfter` settles (so a batch's requests go out one file after another). Throws what
 * readFile/extractText throw (a 404, or `code` `unsupported_file` | `invalid_file`); the
 * embeddings' failure is in `vectors`.
 */
export async function prepareFile(
  deps: PrepareDeps,
  project: string,
  fileId: string,
  strategy: ChunkingStrategy,
  embedAfter: Promise<unknown>,
  filename?: string,
): Promise<PreparedFile> {
  const file = await deps.readFile(project, fileId)
  const { text } = await deps.extractText({ bytes: file.bytes, filename: filename || file.filename, contentType: file.contentType })
  const texts = deps.chunk(text, strategy).map((c) => c.text)
  const embed = deps.embed
  const vectors = embed && texts.length > 0 ? embedAfter.then(() => embed(texts)) : embedAfter.then(() => null)
  // Awaited when the batch writes; until then a rejection must not count as unhandled.
  vectors.catch(() => {})
  return { filename: file.filename, textLength: text.length, texts, vectors }
}

const strategyKey = (s: ChunkingStrategy) => JSON.stringify(s)

/**
 * The next batch's files, prepared while the current batch's index commit runs. LanceDB's write
 * and index builds run on its own threads, and reading, extracting and chunking run on the JS
 * thread: one after the other they kept each of the two cores idle half the time (a drain of 32 ×
 * 256 KB files: ~0.7 s of JS, ~1.2 s of LanceDB, 1.9 s wall).
 *
 * Preparing is pure: it neither counts an attempt nor checks that the file is still attached. The
 * batch that takes a file still starts it (startVectorStoreFile: fence, generation, attempts)
 * first, and uses the prepared result only when that succeeds with the strategy it was prepared
 * with; otherwise it prepares the file again. A failed preparation is dropped, never reused: the
 * batch redoes the work and judges the error itself. A crash loses only the prepared work.
 * Entries are keyed by `<file>:<gen>` (Files are immutable; a new attach is a new generation).
 * Held for one drain; bounded by the batch limits (`maxFiles`, `maxTextLength`): each warm drops
 * what earlier ones prepared for files that are no longer next.
 */
export function createIngestPrefetch(deps: PrepareDeps, project: string) {
  const ahead = new Map<string, { strategy: string; prepared: Promise<PreparedFile | null> }>()
  return {
    /**
     * Starts preparing `entries` (in order, one file at a time, embeddings chained) with
     * `strategy`, the strategy the last batch's files had: files of one create or batch share it.
     * Stops after `maxFiles` files or once `maxTextLength` code units of text are prepared.
     */
    warm(entries: readonly IngestEntry[], strategy: ChunkingStrategy, limits: { maxFiles: number; maxTextLength: number }): void {
      const next = entries.slice(0, limits.maxFiles)
      // What was prepared for files no longer next in line (stale, failed, or not taken) goes.
      const wanted = new Set(next.map((e) => `${e.fileId}:${e.gen}`))
      for (const key of ahead.keys()) if (!wanted.has(key)) ahead.delete(key)
      let chain: Promise<unknown> = Promise.resolve()
      let textLength = 0
      let previous: Promise<unknown> = Promise.resolve()
      for (const entry of next) {
        const key = `${entry.fileId}:${entry.gen}`
        if (ahead.has(key)) continue
        const after = previous
        const prepared = after.then(async () => {
          if (textLength >= limits.maxTextLength) return null
          const file = await prepareFile(deps, project, entry.fileId, strategy, chain)
          textLength += file.textLength
          chain = file.vectors
          return file
        })
        const settled = prepared.catch(() => null)
        previous = settled
        ahead.set(key, { strategy: strategyKey(strategy), prepared: settled })
      }
    },

    /** The file prepared with exactly `strategy` (forgotten once taken); null when not warmed, warmed with another strategy, or failed. */
    async take(entry: IngestEntry, strategy: ChunkingStrategy): Promise<PreparedFile | null> {
      const key = `${entry.fileId}:${entry.gen}`
      const found = ahead.get(key)
      if (!found) return null
      ahead.delete(key)
      if (found.strategy !== strategyKey(strategy)) return null
      return found.prepared
    },
  }
}

export type IngestPrefetch = ReturnType<typeof createIngestPrefetch>
