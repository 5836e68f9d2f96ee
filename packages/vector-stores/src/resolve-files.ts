import { ApiError, type ChunkingStrategyParam, resolveChunkingStrategy } from '@threadwork/domain'
import type { FileToAttach } from '@threadwork/storage'
import type { FileAccess } from './ports.js'

/** Purposes a vector store reads; others (`batch`, `fine-tune`, `vision`, `evals`) are refused. */
export const VECTOR_STORE_PURPOSES: ReadonlySet<string> = new Set(['assistants', 'assistants_output', 'user_data'])

export interface FileRequest {
  file_id: string
  attributes?: Record<string, string | number | boolean> | null
  chunking_strategy?: ChunkingStrategyParam
}

/**
 * Looks every requested file up in the project, in parallel, before anything is written: an
 * unknown (or other project's) file, or one whose purpose a vector store does not read, is a 400
 * naming it (`param` is its place in the request, e.g. `file_ids[2]`). Returns what the store's
 * attach script takes, with each chunking strategy resolved (`auto` → 800/400).
 */
export async function resolveFiles(files: FileAccess, project: string, requests: FileRequest[], paramOf: (i: number) => string): Promise<FileToAttach[]> {
  return Promise.all(
    requests.map(async (r, i) => {
      let file: Awaited<ReturnType<FileAccess['get']>>
      try {
        file = await files.get(project, r.file_id)
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) throw ApiError.invalid(`No such File object: ${r.file_id}`, paramOf(i), 'file_not_found')
        throw err
      }
      if (!VECTOR_STORE_PURPOSES.has(file.purpose))
        throw ApiError.invalid(
          `File '${r.file_id}' has purpose '${file.purpose}'; vector stores read files with purpose 'assistants' or 'user_data'.`,
          paramOf(i),
          'invalid_file_purpose',
        )
      return { file_id: file.id, filename: file.filename, attributes: r.attributes ?? null, chunking_strategy: resolveChunkingStrategy(r.chunking_strategy) }
    }),
  )
}
