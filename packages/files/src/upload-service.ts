import { PassThrough, type Readable } from 'node:stream'
import {
  ApiError,
  type FilePurpose,
  type Upload,
  type UploadCompleteParams,
  type UploadCreateParams,
  type UploadPart,
  contentTypeOf,
  newFileId,
  newId,
  nowSeconds,
  unsupportedFileReason,
} from '@threadwork/domain'
import type { ObjectStorage } from '@threadwork/object-storage'
import type { FileStore } from '@threadwork/storage'
import { byteLimit, md5 } from './byte-limit.js'
import { emptyFile, uploadNotFound } from './errors.js'
import { expiryMember, fileObjectKey, partObjectKey } from './file-service.js'

/** OpenAI: an Upload expires an hour after it is created. */
export const UPLOAD_TTL_SECONDS = 3600
/** OpenAI: each Part can be at most 64 MB. */
export const MAX_PART_BYTES = 64 * 1024 * 1024
/** A completion claim older than this (its process died mid-assembly) may be taken over. */
const STALE_CLAIM_SECONDS = 600

export interface UploadServiceOptions {
  store: FileStore
  storage: ObjectStorage
  maxFileBytes: number
  now?: () => number
  log?: { warn(obj: object, msg: string): void }
}

const refusal = (status: string, action: string) =>
  status === 'completing'
    ? new ApiError(409, `The Upload is being completed; ${action} is not possible.`, { code: 'upload_in_progress' })
    : ApiError.invalid(`Cannot ${action} an Upload with status '${status}'.`, null, 'invalid_upload_status')

export type UploadService = ReturnType<typeof createUploadService>

/**
 * The Uploads API (`/v1/uploads`): create an Upload, add Parts (each streamed to object storage,
 * ≤ 64 MB), complete with the parts in order (their bytes are streamed into one file, checked
 * against the declared size and an optional MD5), or cancel. Parts of uploads that are cancelled,
 * completed or never finished are removed.
 */
export function createUploadService(opts: UploadServiceOptions) {
  const { store, storage } = opts
  const now = opts.now ?? nowSeconds

  const dropPartBytes = async (project: string, uploadId: string) => {
    const parts = await store.uploads.parts(project, uploadId)
    await Promise.all(Object.keys(parts).map((id) => storage.delete(partObjectKey(project, uploadId, id))))
    await store.uploads.dropParts(project, uploadId)
  }

  return {
    /** `POST /uploads`: 400 for a size over MAX_FILE_BYTES or a filename the purpose refuses. */
    async create(project: string, params: UploadCreateParams): Promise<Upload> {
      if (params.bytes > opts.maxFileBytes) {
        throw ApiError.invalid(`Invalid 'bytes': the file is too large. The limit is ${opts.maxFileBytes} bytes.`, 'bytes', 'file_too_large')
      }
      if (params.bytes === 0) throw emptyFile('bytes')
      const reason = unsupportedFileReason(params.filename, params.purpose)
      if (reason) throw ApiError.invalid(reason, 'filename', 'unsupported_file')
      if (!/^[\w.+-]+\/[\w.+-]+$/.test(params.mime_type)) throw ApiError.invalid(`Invalid 'mime_type': '${params.mime_type}' is not a MIME type.`, 'mime_type', 'invalid_value')
      const created = now()
      const upload: Upload = {
        id: newId('upload'),
        object: 'upload',
        bytes: params.bytes,
        created_at: created,
        expires_at: created + UPLOAD_TTL_SECONDS,
        filename: params.filename,
        purpose: params.purpose,
        status: 'pending',
        file: null,
      }
      await store.scheduleExpiry(expiryMember('u', project, upload.id), upload.expires_at)
      await store.uploads.create(project, upload, { mimeType: params.mime_type, expiresAfterSeconds: params.expires_after?.seconds ?? null })
      return upload
    },

    /** `POST /uploads/{id}/parts`: streams `data` to storage; 404 unknown, 400 not pending, 413 over 64 MB. */
    async addPart(project: string, uploadId: string, data: Readable): Promise<UploadPart> {
      const upload = await store.uploads.get(project, uploadId, now())
      if (!upload) {
        data.resume()
        throw uploadNotFound(uploadId)
      }
      if (upload.status !== 'pending') {
        data.resume()
        throw refusal(upload.status, 'add a Part to')
      }
      const id = newId('part')
      const key = partObjectKey(project, uploadId, id)
      const limiter = byteLimit(Math.min(MAX_PART_BYTES, upload.bytes), 'Part')
      data.on('error', (err) => limiter.destroy(err))
      const { bytes } = await storage.put(key, data.pipe(limiter)).catch(async (err) => {
        data.resume()
        await storage.delete(key).catch(() => {})
        throw err
      })
      const outcome = bytes === 0 ? 'EMPTY' : await store.uploads.addPart(project, uploadId, id, bytes, now(), upload.expires_at)
      if (outcome !== 'OK') {
        await storage.delete(key)
        if (outcome === 'EMPTY') throw emptyFile('data')
        if (outcome === 'NOT_FOUND') throw uploadNotFound(uploadId)
        throw refusal(outcome, 'add a Part to')
      }
      return { id, object: 'upload.part', created_at: now(), upload_id: uploadId }
    },

    /**
     * `POST /uploads/{id}/complete`: the parts, in `part_ids` order, become one file. 400 when a
     * part is unknown or repeated, the sizes do not add up to `bytes`, or `md5` does not match.
     */
    async complete(project: string, uploadId: string, params: UploadCompleteParams): Promise<Upload> {
      const claim = await store.uploads.beginComplete(project, uploadId, params.part_ids, now(), STALE_CLAIM_SECONDS)
      switch (claim[0]) {
        case 'OK':
          break
        case 'NOT_FOUND':
          throw uploadNotFound(uploadId)
        case 'STATUS':
          throw refusal(String(claim[1]), 'complete')
        case 'UNKNOWN_PART':
          throw ApiError.invalid(`Invalid 'part_ids': no Part with id '${claim[1]}' in Upload ${uploadId}.`, 'part_ids', 'invalid_value')
        case 'DUPLICATE_PART':
          throw ApiError.invalid(`Invalid 'part_ids': Part '${claim[1]}' is listed more than once.`, 'part_ids', 'invalid_value')
        case 'BYTES_MISMATCH':
          throw ApiError.invalid(
            `The number of bytes uploaded (${claim[1]}) does not match the number of bytes specified when creating the Upload (${claim[2]}).`,
            'part_ids',
            'bytes_mismatch',
          )
        default:
          throw new Error(`unexpected reply ${String(claim[0])}`)
      }
      const upload = (await store.uploads.get(project, uploadId, now()))!
      const internal = await store.uploads.getInternal(project, uploadId)
      const fileId = newFileId()
      const objectKey = fileObjectKey(project, fileId)
      const hash = md5()
      try {
        // The parts, one after another, through one stream: never more than a chunk in memory.
        const joined = new PassThrough()
        void (async () => {
          try {
            for (const partId of params.part_ids) {
              const part = await storage.get(partObjectKey(project, uploadId, partId))
              for await (const chunk of part) {
                hash.update(chunk as Buffer)
                if (!joined.write(chunk)) await new Promise((r) => joined.once('drain', r))
              }
            }
            joined.end()
          } catch (err) {
            joined.destroy(err as Error)
          }
        })()
        await storage.put(objectKey, joined, { contentType: internal.mimeType ?? undefined })
        if (params.md5 !== undefined && params.md5.toLowerCase() !== hash.digest('hex')) {
          throw ApiError.invalid("The md5 checksum does not match the uploaded bytes.", 'md5', 'checksum_mismatch')
        }
        const created = now()
        const file = {
          id: fileId,
          object: 'file' as const,
          bytes: upload.bytes,
          created_at: created,
          expires_at: internal.expiresAfterSeconds ? created + internal.expiresAfterSeconds : null,
          filename: upload.filename,
          purpose: upload.purpose as FilePurpose,
          status: 'processed' as const,
          status_details: null,
        }
        if (file.expires_at !== null) await store.scheduleExpiry(expiryMember('f', project, fileId), file.expires_at)
        const finished = await store.uploads.finish(project, uploadId, { file, objectKey, contentType: internal.mimeType ?? contentTypeOf(upload.filename) })
        if (!finished) throw refusal('completing', 'complete')
        await dropPartBytes(project, uploadId).catch((err) => opts.log?.warn({ err: (err as Error).message, uploadId }, 'upload parts left for the sweeper'))
        return { ...upload, status: 'completed', file }
      } catch (err) {
        await storage.delete(objectKey).catch(() => {})
        await store.uploads.releaseClaim(project, uploadId)
        throw err
      }
    },

    /** `POST /uploads/{id}/cancel`: a pending upload becomes `cancelled` and its parts are removed. */
    async cancel(project: string, uploadId: string): Promise<Upload> {
      const out = await store.uploads.cancel(project, uploadId, now())
      if ('refused' in out) {
        if (out.refused === 'NOT_FOUND') throw uploadNotFound(uploadId)
        throw refusal(out.refused, 'cancel')
      }
      await dropPartBytes(project, uploadId).catch((err) => opts.log?.warn({ err: (err as Error).message, uploadId }, 'upload parts left for the sweeper'))
      return out.ok
    },
  }
}
