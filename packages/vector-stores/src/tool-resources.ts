import { ApiError, type Attachment, type ToolResources, type ToolResourcesCreate } from '@threadwork/domain'
import type { VectorStoreStore } from '@threadwork/storage'
import type { FileAccess } from './ports.js'
import type { VectorStoreService } from './vector-store-service.js'

/** A store made for a thread's file_search attachments expires 7 days after its last activity (OpenAI's default). */
export const THREAD_STORE_EXPIRES_AFTER = { anchor: 'last_active_at', days: 7 } as const

export type ToolResourcesService = ReturnType<typeof createToolResourcesService>

/**
 * The vector-store side of `tool_resources` and message attachments (issue 10 item 7): ids must
 * name live stores of the project, the create-time `vector_stores` helper becomes a real store,
 * and a `file_search` attachment puts its file in the thread's store (made on first use).
 */
export function createToolResourcesService(deps: { vectorStores: VectorStoreStore; service: VectorStoreService; files: FileAccess }) {
  const { vectorStores } = deps

  /** `code_interpreter.file_ids` must name Files of the project (400 naming the bad one), as vector store ids must. */
  async function checkCodeInterpreterFiles(project: string, ids: readonly string[] | undefined, param: string): Promise<void> {
    await Promise.all(
      (ids ?? []).map(async (id, i) => {
        try {
          await deps.files.get(project, id)
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) throw ApiError.invalid(`No such File object: ${id}`, `${param}.code_interpreter.file_ids[${i}]`, 'file_not_found')
          throw err
        }
      }),
    )
  }

  async function checkIds(project: string, ids: readonly string[] | undefined, param: string): Promise<void> {
    await Promise.all(
      (ids ?? []).map(async (id, i) => {
        try {
          await vectorStores.getLive(project, id)
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) throw ApiError.invalid(`No vector store found with id '${id}'.`, `${param}.file_search.vector_store_ids[${i}]`, 'vector_store_not_found')
          if (err instanceof ApiError) throw new ApiError(err.status, err.message, { ...err.opts, param: `${param}.file_search.vector_store_ids[${i}]` })
          throw err
        }
      }),
    )
  }

  const svc = {
    /**
     * Create requests (assistant, thread): checks `vector_store_ids`, then turns the
     * `vector_stores` helper into a new store (its files checked first) and returns the
     * tool_resources to store, ids only. Call it last, after every other check: it creates.
     */
    async resolveCreate(project: string, tr: ToolResourcesCreate | null | undefined, opts: { param?: string; thread?: boolean } = {}): Promise<ToolResources | null | undefined> {
      const param = opts.param ?? 'tool_resources'
      await checkCodeInterpreterFiles(project, tr?.code_interpreter?.file_ids, param)
      if (!tr?.file_search) return tr as ToolResources | null | undefined
      const { vector_stores, vector_store_ids } = tr.file_search
      await checkIds(project, vector_store_ids, param)
      if (!vector_stores?.length) return { ...tr, file_search: { ...(vector_store_ids ? { vector_store_ids } : {}) } }
      const id = await deps.service.createFromHelper(project, vector_stores[0]!, `${param}.file_search.vector_stores[0]`)
      return { ...tr, file_search: { vector_store_ids: [id] } }
    },

    /** Modify requests and run overrides: the ids must name live stores and Files of the project. */
    async checkIds(project: string, tr: ToolResources | null | undefined, param = 'tool_resources'): Promise<void> {
      await checkCodeInterpreterFiles(project, tr?.code_interpreter?.file_ids, param)
      await checkIds(project, tr?.file_search?.vector_store_ids, param)
    },

    /** The files of `attachments` whose tools include file_search (deduplicated, in order). */
    fileSearchFiles(attachments: readonly Attachment[] | null | undefined): string[] {
      return [...new Set((attachments ?? []).filter((a) => a.tools?.some((t) => t.type === 'file_search')).map((a) => a.file_id))]
    },

    /** Checks the files of file_search attachments (400 naming the bad one) before anything is stored. */
    async checkAttachments(project: string, attachments: readonly Attachment[] | null | undefined, param = 'attachments'): Promise<void> {
      const fileIds = svc.fileSearchFiles(attachments)
      if (fileIds.length === 0) return
      await deps.service.checkFiles(project, fileIds, (i) => `${param}[${(attachments ?? []).findIndex((a) => a.file_id === fileIds[i])}].file_id`)
    },

    /**
     * Puts the file_search attachments of a message into the thread's vector store, creating one
     * (expiring 7 days after last activity) and linking it in the thread's `tool_resources` when
     * the thread has none. Files are checked before anything is created (400 naming the attachment).
     */
    async attachToThread(project: string, threadId: string, attachments: readonly Attachment[] | null | undefined, param = 'attachments'): Promise<void> {
      const fileIds = svc.fileSearchFiles(attachments)
      if (fileIds.length === 0) return
      const paramOf = (i: number) => `${param}[${(attachments ?? []).findIndex((a) => a.file_id === fileIds[i])}].file_id`
      // Check the files before creating a store for them.
      await svc.checkAttachments(project, attachments, param)
      let storeId = (await vectorStores.threadVectorStoreId(project, threadId)) ?? null
      if (!storeId) {
        const created = await deps.service.createFromHelper(project, {}, param, { expires_after: THREAD_STORE_EXPIRES_AFTER })
        storeId = await vectorStores.linkThreadVectorStore(project, threadId, created)
        if (storeId !== created) await vectorStores.delete(project, created).catch(() => {})
      }
      await deps.service.attachFiles(project, storeId, fileIds, paramOf)
    },
  }
  return svc
}
