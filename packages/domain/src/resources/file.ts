import { z } from '@hono/zod-openapi'
import { listOf } from '../shared.js'

/**
 * Purposes a client may upload with (`CreateFileRequest.purpose`, files-vector-stores.yaml).
 * `assistants_output` is server-only: code_interpreter outputs.
 */
export const FileUploadPurpose = z.enum(['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'])
export type FileUploadPurpose = z.infer<typeof FileUploadPurpose>

/** Every purpose a stored file can have (`OpenAIFile.purpose`, plus `evals` which uploads accept). */
export const FilePurpose = z.enum([
  'assistants',
  'assistants_output',
  'batch',
  'batch_output',
  'fine-tune',
  'fine-tune-results',
  'vision',
  'user_data',
  'evals',
])
export type FilePurpose = z.infer<typeof FilePurpose>

/** `{anchor: 'created_at', seconds: 3600–2592000}` (`FileExpirationAfter`). */
export const FileExpiresAfter = z
  .strictObject({
    anchor: z.literal('created_at'),
    seconds: z.coerce.number().int().min(3600).max(2_592_000),
  })
  .openapi('FileExpirationAfter')
export type FileExpiresAfter = z.infer<typeof FileExpiresAfter>

/** openai-node's `FileObject` (the spec's `OpenAIFile`). `status` is always `processed`: nothing to wait for. */
export const FileObject = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int(),
    expires_at: z.number().int().nullable().optional(),
    filename: z.string(),
    purpose: FilePurpose,
    status: z.enum(['uploaded', 'processed', 'error']),
    status_details: z.string().nullable().optional(),
  })
  .openapi('OpenAIFile')
export type FileObject = z.infer<typeof FileObject>

/**
 * The non-file fields of `POST /files` (multipart). `expires_after` arrives as the SDKs send
 * nested form values: `expires_after[anchor]`, `expires_after[seconds]`.
 */
export const FileCreateParams = z
  .strictObject({
    purpose: FileUploadPurpose,
    expires_after: FileExpiresAfter.optional(),
  })
  .openapi('CreateFileRequest')
export type FileCreateParams = z.infer<typeof FileCreateParams>

/** `{id, object: 'file', deleted: true}` (`DeleteFileResponse`). */
export const FileDeleted = z.object({ id: z.string(), object: z.literal('file'), deleted: z.boolean() }).openapi('DeleteFileResponse')
export type FileDeleted = z.infer<typeof FileDeleted>

export const FileList = listOf(FileObject).openapi('ListFilesResponse')

/** `GET /files`: `purpose`, `limit` 1–10,000 (default 10,000), `order` (default desc), `after`. */
export const FileListQuery = z.object({
  purpose: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
})
export type FileListQuery = z.infer<typeof FileListQuery>

export const UploadStatus = z.enum(['pending', 'completed', 'cancelled', 'expired'])
export type UploadStatus = z.infer<typeof UploadStatus>

/** openai-node's `Upload`; `file` is set once completed. */
export const Upload = z
  .object({
    id: z.string(),
    object: z.literal('upload'),
    bytes: z.number().int(),
    created_at: z.number().int(),
    expires_at: z.number().int(),
    filename: z.string(),
    purpose: z.string(),
    status: UploadStatus,
    file: FileObject.nullable().optional(),
  })
  .openapi('Upload')
export type Upload = z.infer<typeof Upload>

/** `POST /uploads` (`CreateUploadRequest`). Purposes as the spec lists them for uploads. */
export const UploadCreateParams = z
  .strictObject({
    filename: z.string().min(1).max(512),
    purpose: z.enum(['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals']),
    bytes: z.number().int().min(0),
    mime_type: z.string().min(1).max(255),
    expires_after: FileExpiresAfter.optional(),
  })
  .openapi('CreateUploadRequest')
export type UploadCreateParams = z.infer<typeof UploadCreateParams>

/** `POST /uploads/{id}/complete`: the parts in file order, and an optional MD5 (hex) of the whole. */
export const UploadCompleteParams = z
  .strictObject({
    part_ids: z.array(z.string()),
    md5: z.string().optional(),
  })
  .openapi('CompleteUploadRequest')
export type UploadCompleteParams = z.infer<typeof UploadCompleteParams>

/** openai-node's `UploadPart`. */
export const UploadPart = z
  .object({
    id: z.string(),
    object: z.literal('upload.part'),
    created_at: z.number().int(),
    upload_id: z.string(),
  })
  .openapi('UploadPart')
export type UploadPart = z.infer<typeof UploadPart>
