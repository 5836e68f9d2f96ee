import {
  type ChunkingStrategyParam,
  type VectorStore,
  type VectorStoreCreateParams,
  type VectorStoreDeleted,
  type VectorStoreFile,
  type VectorStoreFileBatch,
  type VectorStoreFileBatchCreateParams,
  type VectorStoreFileCreateParams,
  type VectorStoreFileDeleted,
  newId,
} from '@threadwork/domain'
import type { IngestStore, NewVectorStore, VectorStoreStore } from '@threadwork/storage'
import type { FileAccess, WakeIngest } from './ports.js'
import { resolveFiles } from './resolve-files.js'

export interface VectorStoreServiceDeps {
  stores: VectorStoreStore
  ingest: Pick<IngestStore, 'markPending'>
  files: FileAccess
  wake: WakeIngest
}

export type VectorStoreService = ReturnType<typeof createVectorStoreService>

/**
 * The writes of the Vector stores API: validate (store first, then every file), store in one Lua
 * step (which also queues the ingestion work), then wake the store's ingest drain. The store is
 * marked pending *before* the write, so a crash between the write and the wake-up is found by the
 * ingest reconciler; a mark whose write failed is cleared by it too (empty mailbox).
 */
export function createVectorStoreService(deps: VectorStoreServiceDeps) {
  const { stores, files } = deps

  async function queued<T>(project: string, id: string, write: () => Promise<T>): Promise<T> {
    await deps.ingest.markPending(project, id)
    const out = await write()
    await deps.wake(project, id)
    return out
  }

  const service = {
    /** `POST /vector_stores`: the store, with `file_ids` attached and queued (chunked by `chunking_strategy`). */
    async create(project: string, params: VectorStoreCreateParams): Promise<VectorStore> {
      const fileIds = params.file_ids ?? []
      const attach = await resolveFiles(
        files,
        project,
        fileIds.map((file_id) => ({ file_id, chunking_strategy: params.chunking_strategy })),
        (i) => `file_ids[${i}]`,
      )
      const spec: NewVectorStore = {
        name: params.name ?? null,
        description: params.description,
        expires_after: params.expires_after ?? null,
        metadata: params.metadata ?? {},
        files: attach,
      }
      const id = newId('vs')
      if (attach.length === 0) return stores.create(project, spec, id)
      return queued(project, id, () => stores.create(project, spec, id))
    },

    /** The `tool_resources.file_search.vector_stores` helper: creates that store, returns its id. */
    async createFromHelper(
      project: string,
      helper: { file_ids?: string[]; chunking_strategy?: ChunkingStrategyParam; metadata?: Record<string, string> | null },
      param: string,
      extra: Pick<NewVectorStore, 'expires_after'> = {},
    ): Promise<string> {
      const attach = await resolveFiles(
        files,
        project,
        (helper.file_ids ?? []).map((file_id) => ({ file_id, chunking_strategy: helper.chunking_strategy })),
        (i) => `${param}.file_ids[${i}]`,
      )
      const id = newId('vs')
      const spec: NewVectorStore = { name: null, metadata: helper.metadata ?? {}, files: attach, ...extra }
      await (attach.length ? queued(project, id, () => stores.create(project, spec, id)) : stores.create(project, spec, id))
      return id
    },

    /** Checks files as an attach would (400 naming each bad one), without attaching. */
    async checkFiles(project: string, fileIds: string[], paramOf: (i: number) => string): Promise<void> {
      await resolveFiles(files, project, fileIds.map((file_id) => ({ file_id })), paramOf)
    },

    /** `POST /vector_stores/{id}/files`. */
    async attachFile(project: string, id: string, params: VectorStoreFileCreateParams): Promise<VectorStoreFile> {
      await stores.getLive(project, id)
      const [file] = await resolveFiles(files, project, [params], () => 'file_id')
      await queued(project, id, () => stores.attach(project, id, [file!]))
      const { filename: _, ...out } = await stores.getFile(project, id, params.file_id)
      return out
    },

    /**
     * Attaches files (to the thread's store for message attachments); returns nothing. Files are
     * checked first; `paramOf` names each in errors.
     */
    async attachFiles(project: string, id: string, fileIds: string[], paramOf: (i: number) => string): Promise<void> {
      const attach = await resolveFiles(files, project, fileIds.map((file_id) => ({ file_id })), paramOf)
      if (attach.length) await queued(project, id, () => stores.attach(project, id, attach))
    },

    /** `POST /vector_stores/{id}/file_batches`: `file_ids` (shared attributes/chunking) or `files`. */
    async createBatch(project: string, id: string, params: VectorStoreFileBatchCreateParams): Promise<VectorStoreFileBatch> {
      await stores.getLive(project, id)
      const attach = params.files
        ? await resolveFiles(files, project, params.files, (i) => `files[${i}].file_id`)
        : await resolveFiles(
            files,
            project,
            (params.file_ids ?? []).map((file_id) => ({ file_id, attributes: params.attributes, chunking_strategy: params.chunking_strategy })),
            (i) => `file_ids[${i}]`,
          )
      const { batch } = await queued(project, id, () => stores.attach(project, id, attach, newId('vsfb')))
      return batch!
    },

    /** `POST /vector_stores/{id}/files/{file_id}`: new attributes (the index follows through the store's writer). */
    async updateFileAttributes(project: string, id: string, fileId: string, attributes: Record<string, string | number | boolean> | null): Promise<VectorStoreFile> {
      return queued(project, id, () => stores.updateFileAttributes(project, id, fileId, attributes))
    },

    /** `DELETE /vector_stores/{id}/files/{file_id}`: out of the store (counts, index); the File stays. */
    removeFile(project: string, id: string, fileId: string): Promise<VectorStoreFileDeleted> {
      return queued(project, id, () => stores.removeFile(project, id, fileId))
    },

    /** `DELETE /vector_stores/{id}`: the store's objects now; its index by its writer, right after. */
    delete(project: string, id: string): Promise<VectorStoreDeleted> {
      return queued(project, id, () => stores.delete(project, id))
    },

    /** The file-deletion hook: takes a deleted File out of every store of its project. */
    async removeFileEverywhere(project: string, fileId: string): Promise<void> {
      for (const id of await stores.storesOfFile(project, fileId)) {
        await service.removeFile(project, id, fileId).catch((err: { status?: number }) => {
          if (err.status !== 404) throw err
        })
      }
    },
  }
  return service
}
