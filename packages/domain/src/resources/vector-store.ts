import { z } from '@hono/zod-openapi'
import { ListQuery, Metadata, deletedOf, listOf } from '../shared.js'
import { ChunkingStrategyParam } from './chunking.js'

/** `{anchor:"last_active_at", days 1–365}`: the store expires `days` after its last activity. */
export const VectorStoreExpiresAfter = z
  .strictObject({ anchor: z.literal('last_active_at'), days: z.number().int().min(1).max(365) })
  .openapi('VectorStoreExpirationAfter')
export type VectorStoreExpiresAfter = z.infer<typeof VectorStoreExpiresAfter>

/** Files of a store (or batch) by status; `total` is their sum. */
export const FileCounts = z.object({
  in_progress: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  total: z.number().int(),
})
export type FileCounts = z.infer<typeof FileCounts>

/** `in_progress` while any file is; `expired` once `expires_at` passed (then it cannot be used). */
export const VectorStoreStatus = z.enum(['expired', 'in_progress', 'completed'])
export type VectorStoreStatus = z.infer<typeof VectorStoreStatus>

export const VectorStore = z
  .object({
    id: z.string(),
    object: z.literal('vector_store'),
    created_at: z.number().int(),
    name: z.string().nullable(),
    // Not in OpenAI's object schema; echoed only when the client set one (CreateVectorStoreRequest takes it).
    description: z.string().nullable().optional(),
    usage_bytes: z.number().int(),
    file_counts: FileCounts,
    status: VectorStoreStatus,
    expires_after: VectorStoreExpiresAfter.nullable(),
    expires_at: z.number().int().nullable(),
    last_active_at: z.number().int().nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
  })
  .openapi('VectorStoreObject')
export type VectorStore = z.infer<typeof VectorStore>

export const VectorStoreCreateParams = z
  .strictObject({
    file_ids: z.array(z.string().min(1)).max(500).optional(),
    name: z.string().max(256).optional(),
    description: z.string().max(512).optional(),
    expires_after: VectorStoreExpiresAfter.optional(),
    chunking_strategy: ChunkingStrategyParam.optional(),
    metadata: Metadata.nullable().optional(),
  })
  .openapi('CreateVectorStoreRequest')
export type VectorStoreCreateParams = z.infer<typeof VectorStoreCreateParams>

export const VectorStoreUpdateParams = z
  .strictObject({
    name: z.string().max(256).nullable().optional(),
    expires_after: VectorStoreExpiresAfter.nullable().optional(),
    metadata: Metadata.nullable().optional(),
  })
  .openapi('UpdateVectorStoreRequest')
export type VectorStoreUpdateParams = z.infer<typeof VectorStoreUpdateParams>

export const VectorStoreDeleted = deletedOf('vector_store.deleted').openapi('DeleteVectorStoreResponse')
export type VectorStoreDeleted = z.infer<typeof VectorStoreDeleted>
export const VectorStoreList = listOf(VectorStore).openapi('ListVectorStoresResponse')
export const VectorStoreListQuery = ListQuery
