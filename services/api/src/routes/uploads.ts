import { createRoute, z } from '@hono/zod-openapi'
import { ApiError, Upload, UploadCompleteParams, UploadCreateParams, UploadPart } from '@threadwork/domain'
import type { UploadService } from '@threadwork/files'
import { readMultipart } from '../middleware/multipart.js'
import { conflictResponse, jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const UploadParams = z.object({ upload_id: z.string() })
const busy = conflictResponse('The upload is being completed by another request.')

const addPartRoute = createRoute({
  method: 'post',
  path: '/uploads/{upload_id}/parts',
  operationId: 'addUploadPart',
  request: {
    params: UploadParams,
    body: { required: true, content: { 'multipart/form-data': { schema: z.object({ data: z.string().openapi({ format: 'binary' }) }) } } },
  },
  responses: { ...jsonResponse(UploadPart, 'The part.'), ...busy },
})

/** `POST /uploads/{id}/parts` (multipart `data`, streamed to storage) — mounted before the JSON body parser. */
export const uploadPartRoutes = (uploads: UploadService) => {
  const app = resourceApp()
  app.openAPIRegistry.registerPath(addPartRoute)
  app.post('/uploads/:upload_id/parts', async (c) => {
    const uploadId = c.req.param('upload_id')
    const form = await readMultipart<UploadPart>(
      c.req.raw,
      'data',
      (stream) => uploads.addPart(c.get('project'), uploadId, stream),
      // A part recorded before the form turned out bad stays until the upload ends; harmless (unlisted parts are not used).
      async () => {},
    )
    if (!form.file) throw ApiError.invalid("Missing required parameter: 'data'.", 'data', 'missing_required_parameter')
    const unknown = Object.keys(form.fields)[0]
    if (unknown !== undefined) throw ApiError.invalid(`Unknown parameter: '${unknown}'.`, unknown, 'unknown_parameter')
    return c.json(form.file.result, 200)
  })
  return app
}

/** `POST /uploads`, `POST /uploads/{id}/complete`, `POST /uploads/{id}/cancel` (JSON). */
export const uploadRoutes = (uploads: UploadService) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'post', path: '/uploads', operationId: 'createUpload', request: jsonRequest(UploadCreateParams), responses: jsonResponse(Upload, 'The upload, pending.') }),
      async (c) => c.json(await uploads.create(c.get('project'), c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/uploads/{upload_id}/complete',
        operationId: 'completeUpload',
        request: { params: UploadParams, ...jsonRequest(UploadCompleteParams) },
        responses: { ...jsonResponse(Upload, 'The upload, completed, with its file.'), ...busy },
      }),
      async (c) => c.json(await uploads.complete(c.get('project'), c.req.valid('param').upload_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({ method: 'post', path: '/uploads/{upload_id}/cancel', operationId: 'cancelUpload', request: { params: UploadParams }, responses: { ...jsonResponse(Upload, 'The upload, cancelled.'), ...busy } }),
      async (c) => c.json(await uploads.cancel(c.get('project'), c.req.valid('param').upload_id), 200),
    )
