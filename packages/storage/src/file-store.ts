import { ApiError, FileObject, type FileListQuery, type ListPage, Upload } from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import { type RedisClient, runScript, scripts } from './scripts.js'

/** A file's metadata with what only the server needs: where its bytes are and how to serve them. */
export interface StoredFile {
  file: FileObject
  /** Key of the bytes in object storage (packages/object-storage). */
  objectKey: string
  contentType: string
}

/** Upload fields kept off the wire. */
export interface UploadInternal {
  mimeType: string | null
  /** `expires_after.seconds` of the file the upload becomes, or null. */
  expiresAfterSeconds: number | null
}

/** Seconds after its own expiry that an upload's metadata stays readable (then Redis drops it). */
const UPLOAD_RETENTION_SECONDS = 24 * 3600

const toStored = (reply: string[]): StoredFile => {
  const raw: Record<string, string> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) raw[reply[i]!] = reply[i + 1]!
  return {
    file: FileObject.parse(decodeFields(reply)),
    objectKey: JSON.parse(raw._object_key ?? 'null') as string,
    contentType: JSON.parse(raw._content_type ?? '"application/octet-stream"') as string,
  }
}

const isExpired = (file: FileObject, now: number) => file.expires_at != null && file.expires_at <= now

/** An upload read back: `pending` past its `expires_at` reads as `expired` (OpenAI: one hour). */
const toUpload = (reply: string[], now: number): Upload => {
  const upload = Upload.parse(decodeFields(reply))
  return upload.status === 'pending' && upload.expires_at <= now ? { ...upload, status: 'expired' } : upload
}

export type FileStore = ReturnType<typeof createFileStore>

/**
 * Metadata of files and uploads in Redis (bytes live in object storage). Files are hashes under
 * the project's hash tag, indexed per project and per purpose; lists skip expired files; another
 * project's id reads as missing. The service in `@threadwork/files` ties this to the bytes.
 */
export function createFileStore(redis: RedisClient, k: Keys) {
  return {
    /** Stores a new file's metadata (its bytes are already stored under `objectKey`). */
    async insert(project: string, stored: StoredFile): Promise<void> {
      const { file } = stored
      await runScript(redis, scripts.insertFile, [k.file(project, file.id), k.files(project), k.filesByPurpose(project, file.purpose), k.projectMeta(project)], [
        file.id,
        project,
        ...encodeFields({ ...file, _object_key: stored.objectKey, _content_type: stored.contentType }),
      ])
    },

    /** The file, or null when missing, another project's, or past its `expires_at`. */
    async get(project: string, id: string, now: number): Promise<StoredFile | null> {
      const key = k.file(project, id)
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project])
      if (!raw) return null
      const stored = toStored(raw)
      return isExpired(stored.file, now) ? null : stored
    },

    /** One page, newest first by default; `purpose` filters; expired files are skipped. */
    async list(project: string, q: FileListQuery, now: number): Promise<ListPage<FileObject>> {
      const index = q.purpose ? k.filesByPurpose(project, q.purpose) : k.files(project)
      const reply = await runScript<[string, ...unknown[]]>(redis, scripts.listFiles, [index], [q.order, q.after ?? '', q.limit, k.filePrefix(project), now])
      if (reply[0] === 'BAD_CURSOR') throw ApiError.invalid(`Invalid 'after': no file with id '${q.after}' in this list.`, 'after', 'invalid_value')
      const data = (reply.slice(2) as string[][]).map((h) => FileObject.parse(decodeFields(h)))
      return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: reply[1] === 1 }
    },

    /** Removes the metadata (readers no longer reach the file) and returns what was stored, or null. */
    async remove(project: string, id: string): Promise<StoredFile | null> {
      const raw = await runScript<string[] | null>(redis, scripts.deleteFile, [k.file(project, id), k.files(project)], [
        project,
        id,
        k.filesByPurposePrefix(project),
      ])
      return raw ? toStored(raw) : null
    },

    /** Puts `member` (`f:<project>:<id>` or `u:<project>:<id>`) on the sweeper's worklist for `at`. */
    async scheduleExpiry(member: string, at: number): Promise<void> {
      await redis.zadd(k.storageExpiry, at, member)
    },
    /** Members due at `now`, oldest first. */
    async dueExpiries(now: number, limit: number): Promise<string[]> {
      return redis.zrangebyscore(k.storageExpiry, '-inf', now, 'LIMIT', 0, limit)
    },
    async clearExpiry(member: string): Promise<void> {
      await redis.zrem(k.storageExpiry, member)
    },

    uploads: {
      /** Stores a pending upload with what complete() needs later (content type, the file's expiry). */
      async create(project: string, upload: Upload, internal: UploadInternal): Promise<void> {
        const key = k.upload(project, upload.id)
        await redis
          .multi()
          .hset(key, '_project', project, ...encodeFields({ ...upload, _mime_type: internal.mimeType, _expires_after: internal.expiresAfterSeconds }))
          .expireat(key, upload.expires_at + UPLOAD_RETENTION_SECONDS)
          .exec()
      },

      async get(project: string, id: string, now: number): Promise<Upload | null> {
        const key = k.upload(project, id)
        const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project])
        return raw ? toUpload(raw, now) : null
      },

      async getInternal(project: string, id: string): Promise<UploadInternal> {
        const [mime, exp] = await redis.hmget(k.upload(project, id), '_mime_type', '_expires_after')
        return { mimeType: JSON.parse(mime ?? 'null') as string | null, expiresAfterSeconds: JSON.parse(exp ?? 'null') as number | null }
      },

      /** Records a stored part; answers 'OK', 'NOT_FOUND' or the status that refuses parts. */
      async addPart(project: string, uploadId: string, partId: string, bytes: number, now: number, expiresAt: number): Promise<string> {
        const partsKey = k.uploadParts(project, uploadId)
        const out = await runScript<string>(redis, scripts.addUploadPart, [k.upload(project, uploadId), partsKey], [project, partId, bytes, now])
        if (out === 'OK') await redis.expireat(partsKey, expiresAt + UPLOAD_RETENTION_SECONDS)
        return out
      },

      /** Every part recorded for the upload (part id → bytes). */
      async parts(project: string, uploadId: string): Promise<Record<string, number>> {
        const raw = await redis.hgetall(k.uploadParts(project, uploadId))
        return Object.fromEntries(Object.entries(raw).map(([id, b]) => [id, Number(b)]))
      },

      /** Claims the upload for completion after checking `partIds` (see beginUploadComplete-2.lua). */
      async beginComplete(project: string, uploadId: string, partIds: string[], now: number, staleSeconds: number): Promise<(string | number)[]> {
        return runScript<(string | number)[]>(redis, scripts.beginUploadComplete, [k.upload(project, uploadId), k.uploadParts(project, uploadId)], [
          project,
          now,
          staleSeconds,
          ...partIds,
        ])
      },

      /** Stores the file and marks the upload completed, atomically; false when no longer claimed. */
      async finish(project: string, uploadId: string, stored: StoredFile): Promise<boolean> {
        const { file } = stored
        const seq = await runScript<number | null>(
          redis,
          scripts.finishUpload,
          [k.upload(project, uploadId), k.file(project, file.id), k.files(project), k.filesByPurpose(project, file.purpose), k.projectMeta(project)],
          [file.id, project, JSON.stringify(file), ...encodeFields({ ...file, _object_key: stored.objectKey, _content_type: stored.contentType })],
        )
        return seq !== null
      },

      /** Gives up a completion claim (the bytes could not be assembled); the upload stays pending. */
      async releaseClaim(project: string, uploadId: string): Promise<void> {
        await redis.hdel(k.upload(project, uploadId), '_completing')
      },

      /** Cancels a pending upload: `{ok: upload}` or the refusing status / 'NOT_FOUND'. */
      async cancel(project: string, uploadId: string, now: number): Promise<{ ok: Upload } | { refused: string }> {
        const out = await runScript<[string, ...unknown[]]>(redis, scripts.cancelUpload, [k.upload(project, uploadId)], [project, now])
        if (out[0] === 'OK') return { ok: toUpload(out[1] as string[], now) }
        return { refused: out[0] === 'NOT_FOUND' ? 'NOT_FOUND' : String(out[1]) }
      },

      /** Removes the parts' record (after their bytes are gone). */
      async dropParts(project: string, uploadId: string): Promise<void> {
        await redis.del(k.uploadParts(project, uploadId))
      },
    },
  }
}
