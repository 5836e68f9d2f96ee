import { ApiError, type Attachment, type ThreadCreateParams, type ToolResources } from '@threadwork/domain'
import type { FileService } from '@threadwork/files'
import type { Stores } from '@threadwork/storage'

/** OpenAI: `tool_resources.code_interpreter.file_ids` holds at most 20 files. */
export const MAX_CODE_INTERPRETER_FILES = 20

/** What a message's attachments ask for, by tool. */
export interface AttachedFiles {
  codeInterpreter: string[]
  fileSearch: string[]
}

type WithAttachments = { attachments?: Attachment[] | null }

const unique = (ids: string[]) => [...new Set(ids)]

const tooManyFiles = (count: number) =>
  ApiError.invalid(
    `Invalid 'tool_resources.code_interpreter.file_ids': array too long. Expected an array with maximum length ${MAX_CODE_INTERPRETER_FILES}, but got an array with length ${count} instead. (Files attached with the code_interpreter tool are added to the thread's code_interpreter files.)`,
    'attachments',
    'array_above_max_length',
  )

export type AttachmentService = ReturnType<typeof createAttachmentService>

/**
 * Message attachments (`[{file_id, tools:[{type:"code_interpreter"}|{type:"file_search"}]}]`):
 * every file must be one of the project's files (404 `No such File object` otherwise, with the
 * attachment's `param`); `code_interpreter` ones are added to the thread's
 * `tool_resources.code_interpreter.file_ids` (≤ 20, else 400). `file_search` attachments are the
 * vector stores' (`vector-stores/resolve.ts`, called beside this in the same routes).
 */
export function createAttachmentService(deps: { stores: Stores; files: FileService }) {
  /**
   * Checks every attachment of `messages` (each file exists in the project) and groups their files
   * by tool. `listParam` names the messages' array in errors (`thread.messages` →
   * `thread.messages[0].attachments[1].file_id`); null for one message (`attachments[1].file_id`).
   */
  async function check(project: string, messages: readonly WithAttachments[], listParam: string | null = null): Promise<AttachedFiles> {
    const out: AttachedFiles = { codeInterpreter: [], fileSearch: [] }
    const seen = new Map<string, Promise<unknown>>()
    for (const [m, message] of messages.entries()) {
      for (const [i, attachment] of (message.attachments ?? []).entries()) {
        const param = `${listParam === null ? '' : `${listParam}[${m}].`}attachments[${i}].file_id`
        if (!seen.has(attachment.file_id)) seen.set(attachment.file_id, deps.files.get(project, attachment.file_id))
        await seen.get(attachment.file_id)!.catch((err) => {
          if (err instanceof ApiError && err.status === 404) throw new ApiError(404, err.message, { param })
          throw err
        })
        for (const tool of attachment.tools ?? []) {
          if (tool.type === 'code_interpreter') out.codeInterpreter.push(attachment.file_id)
          else out.fileSearch.push(attachment.file_id)
        }
      }
    }
    return { codeInterpreter: unique(out.codeInterpreter), fileSearch: unique(out.fileSearch) }
  }

  /** `resources` with `ids` added to its code_interpreter files; 400 past 20. */
  function withCodeInterpreterFiles(resources: ToolResources | null | undefined, ids: string[]): ToolResources {
    const current = resources ?? {}
    if (ids.length === 0) return current
    const merged = unique([...(current.code_interpreter?.file_ids ?? []), ...ids])
    if (merged.length > MAX_CODE_INTERPRETER_FILES) throw tooManyFiles(merged.length)
    return { ...current, code_interpreter: { ...current.code_interpreter, file_ids: merged } }
  }

  const service = {
    check,
    withCodeInterpreterFiles,

    /**
     * Around storing one message on an existing thread: checks the attachments and that the
     * thread's code_interpreter files have room (before anything is written), runs `store`, then
     * adds the files to the thread. Returns what `store` returned.
     */
    async forMessage<T>(project: string, threadId: string, message: WithAttachments, store: () => Promise<T>): Promise<T> {
      const attached = await check(project, [message])
      if (attached.codeInterpreter.length > 0) withCodeInterpreterFiles((await deps.stores.threads.get(project, threadId)).tool_resources, attached.codeInterpreter)
      const result = await store()
      await service.addToThread(project, threadId, attached)
      return result
    },

    /**
     * Adds checked attachments to an existing thread: code_interpreter files into its
     * tool_resources (a read-modify-write of that one field; two concurrent writers may race).
     */
    async addToThread(project: string, threadId: string, attached: AttachedFiles): Promise<void> {
      if (attached.codeInterpreter.length > 0) {
        const thread = await deps.stores.threads.get(project, threadId)
        const before = thread.tool_resources?.code_interpreter?.file_ids ?? []
        const next = withCodeInterpreterFiles(thread.tool_resources, attached.codeInterpreter)
        if ((next.code_interpreter?.file_ids ?? []).length !== before.length) await deps.stores.threads.update(project, threadId, { tool_resources: next })
      }
    },

    /**
     * For a thread about to be created with `params.messages`: checks their attachments and returns
     * the params with their code_interpreter files in `tool_resources` (so the thread is created
     * with them, atomically), and the files grouped by tool.
     */
    async forNewThread<P extends ThreadCreateParams>(project: string, params: P, listParam: string | null = 'messages'): Promise<{ params: P; attached: AttachedFiles }> {
      const attached = await check(project, params.messages ?? [], listParam)
      if (attached.codeInterpreter.length === 0) return { params, attached }
      return { params: { ...params, tool_resources: withCodeInterpreterFiles(params.tool_resources, attached.codeInterpreter) }, attached }
    },

  }
  return service
}
