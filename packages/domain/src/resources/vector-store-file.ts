import { z } from '@hono/zod-openapi'
import { ListQuery, deletedOf, listOf } from '../shared.js'
import { ChunkingStrategy, ChunkingStrategyParam } from './chunking.js'
import { VectorStoreFileAttributes } from './vector-store-attributes.js'
import { FileCounts } from './vector-store.js'

export const VectorStoreFileStatus = z.enum(['in_progress', 'completed', 'cancelled', 'failed'])
export type VectorStoreFileStatus = z.infer<typeof VectorStoreFileStatus>

/** Why ingestion failed: OpenAI's three codes. */
export const VectorStoreFileLastError = z.object({
  code: z.enum(['server_error', 'unsupported_file', 'invalid_file']),
  message: z.string(),
})
export type VectorStoreFileLastError = z.infer<typeof VectorStoreFileLastError>

export const VectorStoreFile = z
  .object({
    id: z.string(),
    object: z.literal('vector_store.file'),
    usage_bytes: z.number().int(),
    created_at: z.number().int(),
    vector_store_id: z.string(),
    status: VectorStoreFileStatus,
    last_error: VectorStoreFileLastError.nullable(),
    chunking_strategy: ChunkingStrategy,
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
  })
  .openapi('VectorStoreFileObject')
export type VectorStoreFile = z.infer<typeof VectorStoreFile>

export const VectorStoreFileCreateParams = z
  .strictObject({
    file_id: z.string().min(1),
    chunking_strategy: ChunkingStrategyParam.optional(),
    attributes: VectorStoreFileAttributes.nullable().optional(),
  })
  .openapi('CreateVectorStoreFileRequest')
export type VectorStoreFileCreateParams = z.infer<typeof VectorStoreFileCreateParams>

export const VectorStoreFileUpdateParams = z
  .strictObject({ attributes: VectorStoreFileAttributes.nullable() })
  .openapi('UpdateVectorStoreFileAttributesRequest')
export type VectorStoreFileUpdateParams = z.infer<typeof VectorStoreFileUpdateParams>

/** ListQuery plus `filter` (a file status). */
export const VectorStoreFileListQuery = ListQuery.extend({ filter: VectorStoreFileStatus.optional() })
export type VectorStoreFileListQuery = z.infer<typeof VectorStoreFileListQuery>

export const VectorStoreFileDeleted = deletedOf('vector_store.file.deleted').openapi('DeleteVectorStoreFileResponse')
export type VectorStoreFileDeleted = z.infer<typeof VectorStoreFileDeleted>
export const VectorStoreFileList = listOf(VectorStoreFile).openapi('ListVectorStoreFilesResponse')

/** The parsed text of a store file, as one page (it is never split into more). */
export const VectorStoreFileContent = z
  .object({
    object: z.literal('vector_store.file_content.page'),
    data: z.array(z.object({ type: z.literal('text'), text: z.string() })),
    has_more: z.boolean(),
    next_page: z.string().nullable(),
  })
  .openapi('VectorStoreFileContentResponse')
export type VectorStoreFileContent = z.infer<typeof VectorStoreFileContent>

export const VectorStoreFileBatchStatus = z.enum(['in_progress', 'completed', 'cancelled', 'failed'])

export const VectorStoreFileBatch = z
  .object({
    id: z.string(),
    // OpenAI's literal (the spec's enum), although its description says `vector_store.file_batch`.
    object: z.literal('vector_store.files_batch'),
    created_at: z.number().int(),
    vector_store_id: z.string(),
    status: VectorStoreFileBatchStatus,
    file_counts: FileCounts,
  })
  .openapi('VectorStoreFileBatchObject')
export type VectorStoreFileBatch = z.infer<typeof VectorStoreFileBatch>

/** The most files one batch may name (spec: maxItems 2000). */
export const MAX_BATCH_FILES = 2000

/** `file_ids` (with shared `attributes`/`chunking_strategy`) or `files` (each with its own); exactly one. */
export const VectorStoreFileBatchCreateParams = z
  .strictObject({
    file_ids: z.array(z.string().min(1)).min(1).max(MAX_BATCH_FILES).optional(),
    files: z.array(VectorStoreFileCreateParams).min(1).max(MAX_BATCH_FILES).optional(),
    chunking_strategy: ChunkingStrategyParam.optional(),
    attributes: VectorStoreFileAttributes.nullable().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.file_ids === undefined && p.files === undefined)
      ctx.addIssue({ code: 'custom', path: ['file_ids'], message: "Missing required parameter: 'file_ids' (or 'files').", params: { openai: { code: 'missing_required_parameter' } } })
    else if (p.file_ids !== undefined && p.files !== undefined)
      ctx.addIssue({ code: 'custom', path: ['files'], message: "'file_ids' and 'files' are mutually exclusive: send one of them.", params: { openai: { code: 'invalid_value' } } })
  })
  .openapi('CreateVectorStoreFileBatchRequest')
export type VectorStoreFileBatchCreateParams = z.infer<typeof VectorStoreFileBatchCreateParams>
