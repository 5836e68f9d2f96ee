import { createRoute, z } from '@hono/zod-openapi'
import {
  VectorStoreFile,
  VectorStoreFileBatch,
  VectorStoreFileBatchCreateParams,
  VectorStoreFileContent,
  VectorStoreFileCreateParams,
  VectorStoreFileDeleted,
  VectorStoreFileList,
  VectorStoreFileListQuery,
  VectorStoreFileUpdateParams,
} from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { Context } from 'hono'
import type { AppEnv } from '../env.js'
import { INGEST_POLL_AFTER_MS, type VectorStoresApi } from '../vector-stores/deps.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const StoreParams = z.object({ vector_store_id: z.string() })
const FileParams = StoreParams.extend({ file_id: z.string() })
const BatchParams = StoreParams.extend({ batch_id: z.string() })

/** While a file or batch is in progress the SDK pollers honour this header (else they sleep 1–5 s). */
const withPollHint = <T extends { status: string }>(c: Context<AppEnv>, obj: T) => {
  if (obj.status === 'in_progress') c.header('openai-poll-after-ms', INGEST_POLL_AFTER_MS)
  return c.json(obj, 200)
}

/** `/vector_stores/{id}/files…` and `/vector_stores/{id}/file_batches…`. */
export const vectorStoreFileRoutes = (stores: Stores, vs: VectorStoresApi) =>
  resourceApp()
    .openapi(
      createRoute({
        method: 'post',
        path: '/vector_stores/{vector_store_id}/files',
        operationId: 'createVectorStoreFile',
        summary: 'Create a vector store file by attaching a File to a vector store.',
        request: { params: StoreParams, ...jsonRequest(VectorStoreFileCreateParams) },
        responses: jsonResponse(VectorStoreFile, 'The vector store file.'),
      }),
      async (c) => withPollHint(c, await vs.service.attachFile(c.get('project'), c.req.valid('param').vector_store_id, c.req.valid('json'))),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/vector_stores/{vector_store_id}/files',
        operationId: 'listVectorStoreFiles',
        summary: 'Returns a list of vector store files.',
        request: { params: StoreParams, query: VectorStoreFileListQuery },
        responses: jsonResponse(VectorStoreFileList, 'A page of vector store files.'),
      }),
      async (c) => c.json(await stores.vectorStores.listFiles(c.get('project'), c.req.valid('param').vector_store_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/vector_stores/{vector_store_id}/files/{file_id}', operationId: 'getVectorStoreFile', summary: 'Retrieves a vector store file.', request: { params: FileParams }, responses: jsonResponse(VectorStoreFile, 'The vector store file.') }),
      async (c) => {
        const { vector_store_id, file_id } = c.req.valid('param')
        const { filename: _, ...file } = await stores.vectorStores.getFile(c.get('project'), vector_store_id, file_id)
        return withPollHint(c, file)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/vector_stores/{vector_store_id}/files/{file_id}',
        operationId: 'updateVectorStoreFileAttributes',
        summary: 'Update attributes on a vector store file.',
        request: { params: FileParams, ...jsonRequest(VectorStoreFileUpdateParams) },
        responses: jsonResponse(VectorStoreFile, 'The vector store file.'),
      }),
      async (c) => {
        const { vector_store_id, file_id } = c.req.valid('param')
        return c.json(await vs.service.updateFileAttributes(c.get('project'), vector_store_id, file_id, c.req.valid('json').attributes), 200)
      },
    )
    .openapi(
      createRoute({ method: 'delete', path: '/vector_stores/{vector_store_id}/files/{file_id}', operationId: 'deleteVectorStoreFile', summary: 'Delete a vector store file (the File itself stays).', request: { params: FileParams }, responses: jsonResponse(VectorStoreFileDeleted, 'Deletion status.') }),
      async (c) => {
        const { vector_store_id, file_id } = c.req.valid('param')
        return c.json(await vs.service.removeFile(c.get('project'), vector_store_id, file_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/vector_stores/{vector_store_id}/files/{file_id}/content',
        operationId: 'retrieveVectorStoreFileContent',
        summary: 'Retrieve the parsed contents of a vector store file.',
        request: { params: FileParams },
        responses: jsonResponse(VectorStoreFileContent, 'The parsed content.'),
      }),
      async (c) => {
        const { vector_store_id, file_id } = c.req.valid('param')
        return c.json(await vs.search.content(c.get('project'), vector_store_id, file_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/vector_stores/{vector_store_id}/file_batches',
        operationId: 'createVectorStoreFileBatch',
        summary: 'Create a vector store file batch.',
        request: { params: StoreParams, ...jsonRequest(VectorStoreFileBatchCreateParams) },
        responses: jsonResponse(VectorStoreFileBatch, 'The file batch.'),
      }),
      async (c) => withPollHint(c, await vs.service.createBatch(c.get('project'), c.req.valid('param').vector_store_id, c.req.valid('json'))),
    )
    .openapi(
      createRoute({ method: 'get', path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}', operationId: 'getVectorStoreFileBatch', summary: 'Retrieves a vector store file batch.', request: { params: BatchParams }, responses: jsonResponse(VectorStoreFileBatch, 'The file batch.') }),
      async (c) => {
        const { vector_store_id, batch_id } = c.req.valid('param')
        return withPollHint(c, await stores.vectorStores.getBatch(c.get('project'), vector_store_id, batch_id))
      },
    )
    .openapi(
      createRoute({ method: 'post', path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel', operationId: 'cancelVectorStoreFileBatch', summary: 'Cancel a vector store file batch.', request: { params: BatchParams }, responses: jsonResponse(VectorStoreFileBatch, 'The file batch.') }),
      async (c) => {
        const { vector_store_id, batch_id } = c.req.valid('param')
        return c.json(await stores.vectorStores.cancelBatch(c.get('project'), vector_store_id, batch_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files',
        operationId: 'listFilesInVectorStoreBatch',
        summary: 'Returns a list of vector store files in a batch.',
        request: { params: BatchParams, query: VectorStoreFileListQuery },
        responses: jsonResponse(VectorStoreFileList, 'A page of vector store files.'),
      }),
      async (c) => {
        const { vector_store_id, batch_id } = c.req.valid('param')
        return c.json(await stores.vectorStores.listBatchFiles(c.get('project'), vector_store_id, batch_id, c.req.valid('query')), 200)
      },
    )
