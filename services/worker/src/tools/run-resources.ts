import { ApiError, type Message, type Run, type ToolResources } from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'

/** What a run's built-in tools may use: the assistant's and the thread's tool_resources, and attached files. */
export interface RunResources {
  /** `file_search.vector_store_ids` of the assistant and of the thread, deduplicated (OpenAI: one each). */
  vectorStoreIds: string[]
  /** The thread's own `file_search.vector_store_ids` (message attachments land there): searches wait for its files (file-search.ts). */
  threadVectorStoreIds: string[]
  /**
   * Files the code finds in /mnt/data: `code_interpreter.file_ids` of the assistant and the thread,
   * and files of the thread's messages attached with the `code_interpreter` tool, deduplicated.
   */
  codeInterpreterFileIds: string[]
}

export const noResources = (): RunResources => ({ vectorStoreIds: [], threadVectorStoreIds: [], codeInterpreterFileIds: [] })

/**
 * Reads the resources a round of `run` may use: the assistant as it is now (its tool_resources may
 * have gained a store since the run was created; the run's copy if it was deleted), the thread as
 * it is now (attachments add its store), and the attachments of `messages` (the thread messages the
 * round's prompt holds).
 */
export async function loadRunResources(stores: Stores, project: string, run: Run, messages: readonly Message[]): Promise<RunResources> {
  const missing = (err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
  const [assistant, thread] = await Promise.all([
    stores.assistants.get(project, run.assistant_id).catch(missing),
    stores.threads.get(project, run.thread_id).catch(missing),
  ])
  const sources: (ToolResources | null | undefined)[] = [assistant ? assistant.tool_resources : run.tool_resources, thread?.tool_resources]
  const attached = messages.flatMap((m) => (m.attachments ?? []).filter((a) => a.tools?.some((t) => t.type === 'code_interpreter')).map((a) => a.file_id))
  return {
    vectorStoreIds: unique(sources.flatMap((r) => r?.file_search?.vector_store_ids ?? [])),
    threadVectorStoreIds: unique(thread?.tool_resources?.file_search?.vector_store_ids ?? []),
    codeInterpreterFileIds: unique([...sources.flatMap((r) => r?.code_interpreter?.file_ids ?? []), ...attached]),
  }
}

const unique = (ids: string[]) => [...new Set(ids)]
