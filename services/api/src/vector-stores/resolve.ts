import { ApiError, type Attachment, type ToolResources, type ToolResourcesCreate } from '@threadwork/domain'
import type { VectorStoresApi } from './deps.js'

/**
 * Create-time `tool_resources` as stored (ids only): through the vector store services when the
 * server has them (ids checked, the `vector_stores` helper made into a store); without them the
 * helper is refused, so an object never stores it. Call it last, after every other check.
 */
export async function resolveCreateResources(
  vs: VectorStoresApi | null | undefined,
  project: string,
  tr: ToolResourcesCreate | null | undefined,
  param = 'tool_resources',
): Promise<ToolResources | null | undefined> {
  if (vs) return vs.toolResources.resolveCreate(project, tr, { param })
  if (tr?.file_search?.vector_stores?.length)
    throw ApiError.invalid('Vector stores are not available on this server (no file storage configured).', `${param}.file_search.vector_stores`)
  if (!tr?.file_search) return tr as ToolResources | null | undefined
  const { vector_stores: _, ...fileSearch } = tr.file_search
  return { ...tr, file_search: fileSearch }
}

/** Checks the file_search attachments of messages before anything is stored (no-op without vector stores). */
export async function checkMessageAttachments(vs: VectorStoresApi | null | undefined, project: string, messages: readonly { attachments?: Attachment[] | null }[], param: string): Promise<void> {
  if (!vs) return
  for (const [i, m] of messages.entries()) await vs.toolResources.checkAttachments(project, m.attachments, `${param}[${i}].attachments`)
}

/** Puts the file_search attachments of stored messages into the thread's vector store. */
export async function attachMessageFiles(vs: VectorStoresApi | null | undefined, project: string, threadId: string, messages: readonly { attachments?: Attachment[] | null }[]): Promise<boolean> {
  if (!vs) return false
  let any = false
  for (const m of messages) {
    if (vs.toolResources.fileSearchFiles(m.attachments).length === 0) continue
    await vs.toolResources.attachToThread(project, threadId, m.attachments)
    any = true
  }
  return any
}
