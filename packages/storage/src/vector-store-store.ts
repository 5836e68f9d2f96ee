import {
  ApiError,
  isObjectId,
  type ChunkingStrategy,
  type ListPage,
  type ListQuery,
  MAX_FILES_PER_VECTOR_STORE,
  VectorStore,
  type VectorStoreDeleted,
  type VectorStoreExpiresAfter,
  VectorStoreFile,
  VectorStoreFileBatch,
  type VectorStoreFileDeleted,
  type VectorStoreFileListQuery,
  type VectorStoreFileStatus,
  type VectorStoreUpdateParams,
  newId,
  nowSeconds,
} from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import attachLua from './lua/attachVectorStoreFiles-3.lua'
import cancelBatchLua from './lua/cancelVectorStoreBatch-2.lua'
import casLua from './lua/compareAndSetField-1.lua'
import deleteStoreLua from './lua/deleteVectorStore-2.lua'
import removeFileLua from './lua/removeVectorStoreFile-3.lua'
import setAttributesLua from './lua/setStoreFileAttributes-3.lua'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, script, scripts } from './scripts.js'

const attachFiles = script('attachVectorStoreFiles', attachLua)
const removeFile = script('removeVectorStoreFile', removeFileLua)
const deleteStore = script('deleteVectorStore', deleteStoreLua)
const cancelBatch = script('cancelVectorStoreBatch', cancelBatchLua)
const setAttributes = script('setStoreFileAttributes', setAttributesLua)
const compareAndSet = script('compareAndSetField', casLua)

/** One file to attach, resolved by the caller (the file exists in the project; strategy resolved). */
export interface FileToAttach {
  file_id: string
  filename: string
  attributes: Record<string, string | number | boolean> | null
  chunking_strategy: ChunkingStrategy
}

export interface NewVectorStore {
  name?: string | null
  description?: string
  expires_after?: VectorStoreExpiresAfter | null
  metadata?: Record<string, string> | null
  files: FileToAttach[]
}

export type VectorStoreStore = ReturnType<typeof createVectorStoreStore>

export interface StoreFileInfo {
  filename: string
  attributes: Record<string, string | number | boolean> | null
  status: VectorStoreFileStatus
}

const ZERO_COUNTS = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }

/** `No vector store found with id 'vs_…'.` (404), as for every other object. */
export const vectorStoreNotFound = (id: string) => ApiError.notFound('vector store', id)
/** OpenAI's wording for a file that is not in the store (captured: terraform-provider-openai#35). */
export const storeFileNotFound = (vectorStoreId: string, fileId: string) =>
  new ApiError(404, `No file found with id '${fileId}' in vector store '${vectorStoreId}'.`)
export const vectorStoreExpired = (id: string) =>
  ApiError.invalid(`Vector store '${id}' has expired and can no longer be used; create a new one.`, null, 'vector_store_expired')
const tooManyFiles = (n: number) =>
  ApiError.invalid(`A vector store can hold at most ${MAX_FILES_PER_VECTOR_STORE} files; this request would make it ${n}.`, 'file_ids', 'vector_store_file_limit')

/**
 * Vector stores, their files and file batches, scoped by project (another project's id is simply
 * not there). Every change to a store's membership is one Lua step that also moves the counts of
 * the store and batch and queues the ingestion work in the store's mailbox (the caller then wakes
 * the ingest queue).
 */
export function createVectorStoreStore(redis: RedisClient, k: Keys) {
  const storeKeys = (p: string, id: string) => ({
    base: k.vectorStore(p, id),
    fileBase: k.vectorStoreFilePrefix(p, id),
    batchBase: k.vectorStoreBatchPrefix(p),
    fvsBase: k.fileVectorStoresPrefix(p),
  })
  const fileArgs = (files: FileToAttach[]) =>
    files.flatMap((f) => [f.file_id, JSON.stringify(f.attributes ?? {}), JSON.stringify(f.chunking_strategy), JSON.stringify(f.filename)])

  /** Expired by time but not yet marked: mark it (idempotent) so every reader agrees. */
  async function withExpiry(project: string, store: VectorStore): Promise<VectorStore> {
    if (store.status === 'expired' || store.expires_at == null || store.expires_at > nowSeconds()) return store
    const key = k.vectorStore(project, store.id)
    await runScript(redis, scripts.updateObject, [key, key], [project, 'status', JSON.stringify('expired')])
    return { ...store, status: 'expired' }
  }

  async function attach(project: string, id: string, mode: 'create' | 'attach', fields: string[], files: FileToAttach[], batchId = '') {
    const sk = storeKeys(project, id)
    const reply = await runScript<[string, ...unknown[]]>(redis, attachFiles, [sk.base, k.vectorStores(project), k.projectMeta(project)], [
      project,
      id,
      nowSeconds(),
      mode,
      sk.base,
      sk.fileBase,
      sk.batchBase,
      sk.fvsBase,
      MAX_FILES_PER_VECTOR_STORE,
      batchId,
      fields.length,
      ...fields,
      ...fileArgs(files),
    ])
    if (reply[0] === 'NOT_FOUND') throw vectorStoreNotFound(id)
    if (reply[0] === 'EXPIRED') throw vectorStoreExpired(id)
    if (reply[0] === 'LIMIT') throw tooManyFiles(Number(reply[1]))
    const batchRaw = reply[2] as string[]
    return {
      store: VectorStore.parse(decodeFields(reply[1] as string[])),
      batch: batchRaw.length ? VectorStoreFileBatch.parse(decodeFields(batchRaw)) : null,
    }
  }

  /**
   * `error` (a missing file's or batch's 404) to throw, unless the store itself is unknown to the
   * project: then `store.get` throws the store's own 404, as the README's Endpoints says. Called on
   * not-found paths only, so a found object costs no extra read.
   */
  async function unlessStoreUnknown(project: string, id: string, error: ApiError): Promise<ApiError> {
    await store.get(project, id)
    return error
  }

  const store = {
    /** Creates a store and attaches `files` in one step (each queued for ingestion). */
    async create(project: string, params: NewVectorStore, id = newId('vs')): Promise<VectorStore> {
      const now = nowSeconds()
      const vs: VectorStore = {
        id,
        object: 'vector_store',
        created_at: now,
        name: params.name ?? null,
        ...(params.description !== undefined ? { description: params.description } : {}),
        usage_bytes: 0,
        file_counts: { ...ZERO_COUNTS },
        status: 'completed',
        expires_after: params.expires_after ?? null,
        expires_at: params.expires_after ? now + params.expires_after.days * 86400 : null,
        last_active_at: now,
        metadata: params.metadata ?? {},
      }
      return (await attach(project, id, 'create', encodeFields(vs), dedupe(params.files))).store
    },

    async get(project: string, id: string): Promise<VectorStore> {
      // Ids from bodies (tool_resources) arrive here unchecked: `vs_x:files` is the store's files index.
      if (!isObjectId(id)) throw vectorStoreNotFound(id)
      const key = k.vectorStore(project, id)
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project])
      if (!raw) throw vectorStoreNotFound(id)
      return withExpiry(project, VectorStore.parse(decodeFields(raw)))
    },

    /** The store, refused with 400 when it has expired (writes and searches need a live store). */
    async getLive(project: string, id: string): Promise<VectorStore> {
      const vs = await store.get(project, id)
      if (vs.status === 'expired') throw vectorStoreExpired(id)
      return vs
    },

    async list(project: string, query: ListQuery): Promise<ListPage<VectorStore>> {
      const page = await listPage(
        redis,
        {
          ownerKey: k.projectMeta(project),
          indexKey: k.vectorStores(project),
          objectPrefix: k.vectorStorePrefix(project),
          project: '',
          parse: (raw) => VectorStore.parse(raw),
          notFound: () => new ApiError(500, 'unreachable'),
        },
        query,
      )
      return { ...page, data: await Promise.all(page.data.map((vs) => withExpiry(project, vs))) }
    },

    /** `name`, `metadata`, `expires_after` (which moves `expires_at` from `last_active_at`). */
    async update(project: string, id: string, params: VectorStoreUpdateParams): Promise<VectorStore> {
      const current = await store.get(project, id)
      const changes: Record<string, unknown> = {}
      if (params.name !== undefined) changes.name = params.name
      if (params.metadata !== undefined) changes.metadata = params.metadata ?? {}
      if (params.expires_after !== undefined) {
        changes.expires_after = params.expires_after
        changes.expires_at = params.expires_after ? (current.last_active_at ?? current.created_at) + params.expires_after.days * 86400 : null
      }
      const key = k.vectorStore(project, id)
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project, ...encodeFields(changes)])
      if (!raw) throw vectorStoreNotFound(id)
      return withExpiry(project, VectorStore.parse(decodeFields(raw)))
    },

    /** Marks the store used now (`last_active_at`), pushing `expires_at` on; refused once expired. */
    async touch(project: string, id: string): Promise<VectorStore> {
      const current = await store.getLive(project, id)
      const now = nowSeconds()
      const changes: Record<string, unknown> = { last_active_at: now }
      if (current.expires_after) changes.expires_at = now + current.expires_after.days * 86400
      const key = k.vectorStore(project, id)
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project, ...encodeFields(changes)])
      if (!raw) throw vectorStoreNotFound(id)
      return VectorStore.parse(decodeFields(raw))
    },

    async delete(project: string, id: string): Promise<VectorStoreDeleted> {
      const sk = storeKeys(project, id)
      const removed = await runScript<number>(redis, deleteStore, [k.vectorStores(project), sk.base], [project, id, sk.base, sk.fileBase, sk.batchBase, sk.fvsBase])
      if (!removed) throw vectorStoreNotFound(id)
      return { id, object: 'vector_store.deleted', deleted: true }
    },

    /** Attaches files (again, for files already in it) and queues them; optionally as a new batch. */
    attach: (project: string, id: string, files: FileToAttach[], batchId?: string) => attach(project, id, 'attach', [], dedupe(files), batchId),

    async getFile(project: string, id: string, fileId: string): Promise<VectorStoreFile & { filename: string }> {
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [k.vectorStore(project, id), k.vectorStoreFile(project, id, fileId)], [project])
      if (!raw) throw await unlessStoreUnknown(project, id, storeFileNotFound(id, fileId))
      return { ...VectorStoreFile.parse(decodeFields(raw)), filename: filenameOf(raw) }
    },

    listFiles(project: string, id: string, query: VectorStoreFileListQuery): Promise<ListPage<VectorStoreFile>> {
      return listPage(
        redis,
        {
          ownerKey: k.vectorStore(project, id),
          // A status filter pages through that status's index (same scores as the full one).
          indexKey: k.vectorStoreFiles(project, id, query.filter),
          objectPrefix: k.vectorStoreFilePrefix(project, id),
          project,
          parse: (raw) => VectorStoreFile.parse(raw),
          notFound: () => vectorStoreNotFound(id),
        },
        query,
      )
    },

    /** Replaces a file's attributes and queues the index's copy to follow (search filters read it). */
    async updateFileAttributes(project: string, id: string, fileId: string, attributes: Record<string, string | number | boolean> | null) {
      const raw = await runScript<string[] | null>(
        redis,
        setAttributes,
        [k.vectorStore(project, id), k.vectorStoreFile(project, id, fileId), k.vectorStoreMailbox(project, id)],
        [project, JSON.stringify(attributes ?? {}), fileId],
      )
      if (!raw) throw await unlessStoreUnknown(project, id, storeFileNotFound(id, fileId))
      return VectorStoreFile.parse(decodeFields(raw))
    },

    async removeFile(project: string, id: string, fileId: string): Promise<VectorStoreFileDeleted> {
      const sk = storeKeys(project, id)
      const removed = await runScript<number>(
        redis,
        removeFile,
        [sk.base, k.vectorStoreFile(project, id, fileId), k.vectorStoreMailbox(project, id)],
        [project, sk.base, sk.batchBase, sk.fvsBase, fileId, id],
      )
      if (!removed) throw await unlessStoreUnknown(project, id, storeFileNotFound(id, fileId))
      return { id: fileId, object: 'vector_store.file.deleted', deleted: true }
    },

    async getBatch(project: string, id: string, batchId: string): Promise<VectorStoreFileBatch> {
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [k.vectorStore(project, id), k.vectorStoreBatch(project, batchId)], [project])
      const batch = raw ? VectorStoreFileBatch.parse(decodeFields(raw)) : null
      if (!batch || batch.vector_store_id !== id) {
        throw await unlessStoreUnknown(project, id, ApiError.notFound('vector store file batch', batchId))
      }
      return batch
    },

    /** Cancels an in-progress batch; a finished one is a 400 (as cancelling a finished run is). */
    async cancelBatch(project: string, id: string, batchId: string): Promise<VectorStoreFileBatch> {
      const sk = storeKeys(project, id)
      const reply = await runScript<[string, unknown]>(redis, cancelBatch, [sk.base, k.vectorStoreBatch(project, batchId)], [project, sk.base, sk.fileBase, id, batchId])
      if (reply[0] === 'NOT_FOUND') throw await unlessStoreUnknown(project, id, ApiError.notFound('vector store file batch', batchId))
      if (reply[0] === 'FINISHED') throw ApiError.invalid(`Cannot cancel a file batch with status '${JSON.parse(String(reply[1]))}'.`)
      return VectorStoreFileBatch.parse(decodeFields(reply[1] as string[]))
    },

    async listBatchFiles(project: string, id: string, batchId: string, query: VectorStoreFileListQuery): Promise<ListPage<VectorStoreFile>> {
      await store.getBatch(project, id, batchId)
      return listPage(
        redis,
        {
          ownerKey: k.vectorStoreBatch(project, batchId),
          indexKey: k.vectorStoreBatchFiles(project, batchId, query.filter),
          objectPrefix: k.vectorStoreFilePrefix(project, id),
          project,
          parse: (raw) => VectorStoreFile.parse(raw),
          notFound: () => ApiError.notFound('vector store file batch', batchId),
        },
        query,
      )
    },

    /** Ids of the project's stores that hold `fileId`. */
    storesOfFile: (project: string, fileId: string): Promise<string[]> => redis.smembers(k.fileVectorStores(project, fileId)),

    /**
     * The thread's file_search store, linking `candidateId` into its `tool_resources` when it has
     * none (compare-and-set, so two concurrent attachments agree on one store). Returns the store
     * the thread uses: `candidateId`, or the one another request linked first. 404 for an unknown
     * or other project's thread.
     */
    async linkThreadVectorStore(project: string, threadId: string, candidateId: string): Promise<string> {
      const key = k.thread(threadId)
      for (let attempt = 0; attempt < 20; attempt++) {
        const raw = await redis.hget(key, 'tool_resources')
        const current = (raw ? JSON.parse(raw) : null) ?? {}
        const existing = current.file_search?.vector_store_ids?.[0] as string | undefined
        if (existing) return existing
        const next = { ...current, file_search: { ...current.file_search, vector_store_ids: [candidateId] } }
        const reply = await runScript<[string]>(redis, compareAndSet, [key], [project, 'tool_resources', raw ?? '', JSON.stringify(next)])
        if (reply[0] === 'NOT_FOUND') throw ApiError.notFound('thread', threadId)
        if (reply[0] === 'OK') return candidateId
      }
      throw new ApiError(503, 'The thread changed too often to link its vector store; try again.')
    },

    /** The thread's file_search store id, if it has one; 404 for an unknown or other project's thread. */
    async threadVectorStoreId(project: string, threadId: string): Promise<string | undefined> {
      const [owner, raw] = await redis.hmget(k.thread(threadId), '_project', 'tool_resources')
      if (owner !== project) throw ApiError.notFound('thread', threadId)
      return (raw ? JSON.parse(raw) : null)?.file_search?.vector_store_ids?.[0]
    },

    /** Filename, attributes and status of store files, for search results (files not in the store are left out). */
    async fileInfo(project: string, id: string, fileIds: string[]): Promise<Map<string, StoreFileInfo>> {
      const out = new Map<string, StoreFileInfo>()
      if (fileIds.length === 0) return out
      const pipe = redis.pipeline()
      for (const f of fileIds) pipe.hmget(k.vectorStoreFile(project, id, f), '_filename', 'attributes', 'status')
      const replies = (await pipe.exec()) ?? []
      fileIds.forEach((f, i) => {
        const [filename, attributes, status] = (replies[i]?.[1] ?? []) as (string | null)[]
        if (filename != null && status != null)
          out.set(f, { filename: JSON.parse(filename), attributes: attributes ? JSON.parse(attributes) : null, status: JSON.parse(status) })
      })
      return out
    },
  }
  return store
}

function filenameOf(raw: string[]): string {
  const i = raw.indexOf('_filename')
  return i >= 0 && i % 2 === 0 ? JSON.parse(raw[i + 1]!) : ''
}

/** One entry per file id (the last one given wins), so a request naming a file twice attaches it once. */
function dedupe(files: FileToAttach[]): FileToAttach[] {
  return [...new Map(files.map((f) => [f.file_id, f])).values()]
}
