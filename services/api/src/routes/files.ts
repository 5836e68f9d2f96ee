import { createRoute, z } from '@hono/zod-openapi'
import { ApiError, FileCreateParams, FileDeleted, FileList, FileListQuery, FileObject } from '@threadwork/domain'
import type { FileService, StagedFile } from '@threadwork/files'
import { Readable } from 'node:stream'
import { nestFields, readMultipart } from '../middleware/multipart.js'
import { toApiError } from '../middleware/validation-error.js'
import { jsonResponse, resourceApp } from './openapi.js'

const FileParams = z.object({ file_id: z.string() })

const createFileRoute = createRoute({
  method: 'post',
  path: '/files',
  operationId: 'createFile',
  request: {
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: z.object({ file: z.string().openapi({ format: 'binary' }), purpose: FileCreateParams.shape.purpose, expires_after: FileCreateParams.shape.expires_after }),
        },
      },
    },
  },
  responses: jsonResponse(FileObject, 'The file.'),
})

/**
 * `POST /files` (multipart, streamed to object storage) — mounted before the JSON body parser, so
 * the body is read once, by busboy, as it arrives.
 */
export const fileUploadRoutes = (files: FileService) => {
  const app = resourceApp()
  app.openAPIRegistry.registerPath(createFileRoute)
  app.post('/files', async (c) => {
    const project = c.get('project')
    const form = await readMultipart<StagedFile>(
      c.req.raw,
      'file',
      (stream, info) => files.stage(project, stream, info.mimeType !== 'application/octet-stream' ? info.mimeType : undefined),
      (staged) => files.discardStaged(staged),
    )
    if (!form.file) throw ApiError.invalid("Missing required parameter: 'file'.", 'file', 'missing_required_parameter')
    const staged = form.file.result
    const input = nestFields(form.fields)
    const parsed = FileCreateParams.safeParse(input)
    if (!parsed.success) {
      await files.discardStaged(staged)
      throw toApiError(parsed.error, input)
    }
    if (!form.file.filename) {
      await files.discardStaged(staged)
      throw ApiError.invalid("Invalid 'file': the file part has no filename.", 'file', 'invalid_value')
    }
    const file = await files.commitStaged(staged, {
      filename: form.file.filename,
      purpose: parsed.data.purpose,
      expiresAfter: parsed.data.expires_after,
      checkType: true,
    })
    return c.json(file, 200)
  })
  return app
}

/** `GET /files`, `GET/DELETE /files/{id}`, `GET /files/{id}/content`. */
export const fileRoutes = (files: FileService) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'get', path: '/files', operationId: 'listFiles', request: { query: FileListQuery }, responses: jsonResponse(FileList, 'A page of files.') }),
      async (c) => c.json(await files.list(c.get('project'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/files/{file_id}', operationId: 'retrieveFile', request: { params: FileParams }, responses: jsonResponse(FileObject, 'The file.') }),
      async (c) => c.json(await files.get(c.get('project'), c.req.valid('param').file_id), 200),
    )
    .openapi(
      createRoute({ method: 'delete', path: '/files/{file_id}', operationId: 'deleteFile', request: { params: FileParams }, responses: jsonResponse(FileDeleted, 'Deletion status.') }),
      async (c) => c.json(await files.delete(c.get('project'), c.req.valid('param').file_id), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/files/{file_id}/content',
        operationId: 'downloadFile',
        request: { params: FileParams },
        responses: { 200: { description: "The file's bytes.", content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } } },
      }),
      async (c) => {
        const content = await files.openContent(c.get('project'), c.req.valid('param').file_id)
        const headers = {
          'content-type': content.contentType,
          'content-length': String(content.bytes),
          'content-disposition': `attachment; filename="${content.filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(content.filename)}`,
        }
        // A web stream over the storage stream: sent with backpressure, never buffered whole.
        return c.body(Readable.toWeb(content.stream) as ReadableStream, 200, headers) as never
      },
    )
