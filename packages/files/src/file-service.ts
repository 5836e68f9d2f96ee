import type { Readable } from 'node:stream'
import {
  ApiError,
  type FileDeleted,
  type FileExpiresAfter,
  type FileListQuery,
  type FileObject,
  type FilePurpose,
  type ListPage,
  contentTypeOf,
  newFileId,
  nowSeconds,
  unsupportedFileReason,
} from '@threadwork/domain'
import { type ObjectStorage, ObjectNotFoundError } from '@threadwork/object-storage'
import type { FileStore, StoredFile } from '@threadwork/storage'
import { byteLimit, tooLarge } from './byte-limit.js'
import { emptyFile, fileNotFound } from './errors.js'

/** What `openContent` hands back: the bytes as a stream, and how to serve them. */
export interface FileContent {
  stream: Readable
  contentType: string
  bytes: number
  filename: string
}

/**
 * Called before a file is deleted (by the API or by expiry), e.g. to take it out of every vector
 * store. A listener that throws stops the deletion (the file stays; the caller may retry), so a
 * deleted file is never left behind in a store.
 */
export type FileDeletedListener = (project: string, fileId: string) => Promise<void> | void

export interface NewFile {
  filename: string
  purpose: FilePurpose
  /** Whole bytes, or a stream (never buffered: it goes to object storage as it arrives). */
  bytes?: Uint8Array
  stream?: Readable
  /** Default: from the filename's extension. */
  contentType?: string
  expiresAfter?: FileExpiresAfter
  /** Check the filename's extension against the purpose (as POST /v1/files does). Default false. */
  checkType?: boolean
}

/** Bytes stored under a file id that has no metadata yet (see `stage`). */
export interface StagedFile {
  project: string
  id: string
  objectKey: string
  bytes: number
}

export interface FileServiceOptions {
  store: FileStore
  storage: ObjectStorage
  /** Largest file in bytes (MAX_FILE_BYTES; OpenAI: 512 MB). */
  maxFileBytes: number
  /** Clock in Unix seconds (tests move it to expire files). */
  now?: () => number
  log?: { warn(obj: object, msg: string): void }
}

/** Object-storage key of a file's bytes. Projects are `[A-Za-z0-9_.-]` (config), so the key is safe. */
export const fileObjectKey = (project: string, fileId: string) => `files/${project}/${fileId}`

export const expiryMember = (kind: 'f' | 'u', project: string, id: string) => `${kind}:${project}:${id}`

export type FileService = ReturnType<typeof createFileService>

/**
 * Files: metadata in Redis (`FileStore`), bytes in object storage, per project. Used by the API
 * (`/v1/files`, `/v1/uploads`) and by the worker (code_interpreter inputs via `openContent`,
 * outputs via `createFromBytes` with purpose `assistants_output`). Errors are `ApiError`s with
 * OpenAI's bodies.
 */
export function createFileService(opts: FileServiceOptions) {
  const { store, storage } = opts
  const now = opts.now ?? nowSeconds
  const listeners = new Set<FileDeletedListener>()

  async function getStored(project: string, id: string): Promise<StoredFile> {
    const stored = await store.get(project, id, now())
    if (!stored) throw fileNotFound(id)
    return stored
  }

  const service = {
    maxFileBytes: opts.maxFileBytes,

    /** The file object; 404 (`No such File object`) when missing, expired or another project's. */
    async get(project: string, id: string): Promise<FileObject> {
      return (await getStored(project, id)).file
    },

    /** Files of the project (`purpose`, `limit` 1–10,000, `order`, `after`); expired ones excluded. */
    list(project: string, query: FileListQuery): Promise<ListPage<FileObject>> {
      return store.list(project, query, now())
    },

    /**
     * First half of a create when the metadata may arrive after the bytes (multipart forms put
     * fields in any order): streams the bytes to object storage under a fresh file id, with the
     * size limit enforced on the way (413 mid-stream, nothing left stored). Follow with
     * {@link commitStaged} or {@link discardStaged}.
     */
    async stage(project: string, source: Readable | Uint8Array, contentType?: string): Promise<StagedFile> {
      const id = newFileId()
      const objectKey = fileObjectKey(project, id)
      if (source instanceof Uint8Array) {
        if (source.byteLength > opts.maxFileBytes) throw tooLarge('File', opts.maxFileBytes)
        const { bytes } = await storage.put(objectKey, source, { contentType })
        return { project, id, objectKey, bytes }
      }
      const limiter = byteLimit(opts.maxFileBytes, 'File')
      source.on('error', (err) => limiter.destroy(err))
      try {
        const { bytes } = await storage.put(objectKey, source.pipe(limiter), { contentType })
        return { project, id, objectKey, bytes }
      } catch (err) {
        // Keep reading (and dropping) the rest, so an HTTP client still gets the answer.
        source.unpipe(limiter)
        source.resume()
        await storage.delete(objectKey).catch(() => {})
        throw err
      }
    },

    /**
     * Second half: validates (400 for an empty file, or with `checkType` a type the purpose does
     * not take) and stores the metadata. On any failure the staged bytes are removed.
     */
    async commitStaged(staged: StagedFile, meta: Omit<NewFile, 'bytes' | 'stream'>): Promise<FileObject> {
      try {
        if (meta.checkType) {
          const reason = unsupportedFileReason(meta.filename, meta.purpose)
          if (reason) throw ApiError.invalid(reason, 'file', 'unsupported_file')
        }
        if (staged.bytes === 0) throw emptyFile('file')
        const created = now()
        const expiresAt = meta.expiresAfter ? created + meta.expiresAfter.seconds : null
        const file: FileObject = {
          id: staged.id,
          object: 'file',
          bytes: staged.bytes,
          created_at: created,
          expires_at: expiresAt,
          filename: meta.filename,
          purpose: meta.purpose,
          status: 'processed',
          status_details: null,
        }
        // Scheduled before the metadata exists: a crash in between leaves a sweep of nothing, never an unswept file.
        if (expiresAt !== null) await store.scheduleExpiry(expiryMember('f', staged.project, staged.id), expiresAt)
        await store.insert(staged.project, { file, objectKey: staged.objectKey, contentType: meta.contentType ?? contentTypeOf(meta.filename) })
        return file
      } catch (err) {
        await service.discardStaged(staged)
        throw err
      }
    },

    /** Removes staged bytes that will not become a file. */
    async discardStaged(staged: StagedFile): Promise<void> {
      await storage.delete(staged.objectKey).catch((err) => opts.log?.warn({ err: (err as Error).message, key: staged.objectKey }, 'could not remove staged bytes'))
    },

    /**
     * Stores a new file and returns its object: {@link stage} then {@link commitStaged}. An empty,
     * oversized, refused or failed body leaves no metadata and no bytes. Throws `ApiError` 400
     * (unsupported type when `checkType`, empty), 413 (too large); storage errors propagate.
     */
    async createFromStream(project: string, input: NewFile): Promise<FileObject> {
      if (input.checkType) {
        const reason = unsupportedFileReason(input.filename, input.purpose)
        if (reason) {
          input.stream?.resume()
          throw ApiError.invalid(reason, 'file', 'unsupported_file')
        }
      }
      const staged = await service.stage(project, input.stream ?? input.bytes ?? new Uint8Array(), input.contentType)
      return service.commitStaged(staged, input)
    },

    /**
     * A file made by the server (e.g. code_interpreter outputs, purpose `assistants_output`):
     * `{filename, purpose, bytes | stream, contentType?}` → the File object.
     */
    createFromBytes(project: string, input: Omit<NewFile, 'checkType'>): Promise<FileObject> {
      return service.createFromStream(project, { ...input, checkType: false })
    },

    /** The file's bytes as a stream with its content type, size and name; 404 as `get`. */
    async openContent(project: string, id: string): Promise<FileContent> {
      const stored = await getStored(project, id)
      try {
        const stream = await storage.get(stored.objectKey)
        return { stream, contentType: stored.contentType, bytes: stored.file.bytes, filename: stored.file.filename }
      } catch (err) {
        if (err instanceof ObjectNotFoundError) throw fileNotFound(id)
        throw err
      }
    },

    /**
     * Deletes a file: listeners first (it leaves every vector store), then its metadata, then its
     * bytes. 404 when missing. `{id, object: 'file', deleted: true}`.
     */
    async delete(project: string, id: string): Promise<FileDeleted> {
      await getStored(project, id)
      for (const listener of listeners) await listener(project, id)
      const removed = await store.remove(project, id)
      if (!removed) throw fileNotFound(id)
      await storage.delete(removed.objectKey)
      if (removed.file.expires_at != null) await store.clearExpiry(expiryMember('f', project, id))
      return { id, object: 'file', deleted: true }
    },

    /** Registers a deletion listener (see {@link FileDeletedListener}); returns its removal. */
    onFileDeleted(listener: FileDeletedListener): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    /**
     * Removes what has expired: files past `expires_after` (as `delete` does, listeners included)
     * and the parts of uploads that were never completed. Returns how many entries were handled.
     */
    async sweepExpired(limit = 100): Promise<number> {
      const due = await store.dueExpiries(now(), limit)
      let handled = 0
      for (const member of due) {
        const [kind, project, id] = member.split(':') as ['f' | 'u', string, string]
        try {
          if (kind === 'f') {
            const stored = await store.get(project, id, Number.NEGATIVE_INFINITY)
            if (stored) {
              for (const listener of listeners) await listener(project, id)
              const removed = await store.remove(project, id)
              if (removed) await storage.delete(removed.objectKey)
            }
          } else {
            const parts = await store.uploads.parts(project, id)
            const upload = await store.uploads.get(project, id, now())
            // A completed upload's parts were removed when it completed; any left are orphans too.
            for (const partId of Object.keys(parts)) await storage.delete(partObjectKey(project, id, partId))
            if (upload?.status !== 'completed') await store.uploads.dropParts(project, id)
          }
          await store.clearExpiry(member)
          handled++
        } catch (err) {
          opts.log?.warn({ err: (err as Error).message, member }, 'expiry sweep: will retry')
        }
      }
      return handled
    },

    /** Runs {@link sweepExpired} every `intervalMs` until the returned stop function is called. */
    startSweeper(intervalMs = 60_000): () => void {
      let running = false
      const timer = setInterval(() => {
        if (running) return
        running = true
        service
          .sweepExpired()
          .catch((err) => opts.log?.warn({ err: (err as Error).message }, 'expiry sweep failed'))
          .finally(() => {
            running = false
          })
      }, intervalMs)
      timer.unref()
      return () => clearInterval(timer)
    },
  }
  return service
}

/** Object-storage key of one upload part. */
export const partObjectKey = (project: string, uploadId: string, partId: string) => `uploads/${project}/${uploadId}/${partId}`
