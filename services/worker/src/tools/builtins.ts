import type { FileService } from '@threadwork/files'
import { NO_SANDBOX_MESSAGE, SandboxUnavailableError, type SandboxClient, createSandboxClient } from '@threadwork/sandbox-client'
import type { RedisClient } from '@threadwork/storage'
import type { Redis } from 'ioredis'
import type { BuiltinTool } from './builtin-tool.js'
import { type CodeFiles, createCodeInterpreterTool } from './code-interpreter.js'
import { type FileSearchBackend, createFileSearchTool } from './file-search.js'

export interface BuiltinsDeps {
  redis: RedisClient
  /** REDIS_PREFIX: sandbox hosts register under it. */
  keyPrefix: string
  /** SANDBOX_TOKEN; unset: code_interpreter calls fail the run, saying no sandbox is configured. */
  sandboxToken?: string
  files: FileService
  /** Vector store search; null: file_search is not offered (the tool stays stored, as before). */
  search: FileSearchBackend | null
}

/**
 * The worker's built-in tools: code_interpreter over the sandbox hosts (packages/sandbox-client)
 * with inputs and outputs as Files (packages/files), and file_search over the vector stores.
 */
export function createBuiltins(deps: BuiltinsDeps): BuiltinTool[] {
  const sandbox: Pick<SandboxClient, 'execute'> = deps.sandboxToken
    ? createSandboxClient({ redis: deps.redis as Redis, keyPrefix: deps.keyPrefix, token: deps.sandboxToken })
    : {
        execute: async () => {
          throw new SandboxUnavailableError(`${NO_SANDBOX_MESSAGE} The worker has no SANDBOX_TOKEN set, so it cannot reach one.`)
        },
      }
  const files: CodeFiles = {
    async read(project, fileId) {
      const content = await deps.files.openContent(project, fileId)
      const chunks: Buffer[] = []
      for await (const chunk of content.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
      return { filename: content.filename, bytes: Buffer.concat(chunks) }
    },
    async create(project, filename, bytes) {
      return (await deps.files.createFromBytes(project, { filename, purpose: 'assistants_output', bytes })).id
    },
  }
  const tools: BuiltinTool[] = [createCodeInterpreterTool({ sandbox, files })]
  if (deps.search) tools.push(createFileSearchTool(deps.search))
  return tools
}
