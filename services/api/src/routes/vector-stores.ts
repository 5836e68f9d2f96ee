import { createRoute, z } from '@hono/zod-openapi'
import {
  VectorStore,
  VectorStoreCreateParams,
  VectorStoreDeleted,
  VectorStoreList,
  VectorStoreListQuery,
  VectorStoreSearchParams,
  VectorStoreSearchResultsPage,
  VectorStoreUpdateParams,
} from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const StoreParams = z.object({ vector_store_id: z.string() })

/** `/vector_stores` and `/vector_stores/{id}` (+ `/search`): thin handlers over the vector store services. */
export const vectorStoreRoutes = (stores: Stores, vs: VectorStoresApi) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'post', path: '/vector_stores', operationId: 'createVectorStore', summary: 'Create a vector store.', request: jsonRequest(VectorStoreCreateParams, false), responses: jsonResponse(VectorStore, 'The vector store.') }),
      async (c) => c.json(await vs.service.create(c.get('project'), c.req.valid('json') ?? {}), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/vector_stores', operationId: 'listVectorStores', summary: 'Returns a list of vector stores.', request: { query: VectorStoreListQuery }, responses: jsonResponse(VectorStoreList, 'A page of vector stores.') }),
      async (c) => c.json(await stores.vectorStores.list(c.get('project'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/vector_stores/{vector_store_id}', operationId: 'getVectorStore', summary: 'Retrieves a vector store.', request: { params: StoreParams }, responses: jsonResponse(VectorStore, 'The vector store.') }),
      async (c) => c.json(await stores.vectorStores.get(c.get('project'), c.req.valid('param').vector_store_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/vector_stores/{vector_store_id}',
        operationId: 'modifyVectorStore',
        summary: 'Modifies a vector store.',
        request: { params: StoreParams, ...jsonRequest(VectorStoreUpdateParams, false) },
        responses: jsonResponse(VectorStore, 'The modified vector store.'),
      }),
      async (c) => c.json(await stores.vectorStores.update(c.get('project'), c.req.valid('param').vector_store_id, c.req.valid('json') ?? {}), 200),
    )
    .openapi(
      createRoute({ method: 'delete', path: '/vector_stores/{vector_store_id}', operationId: 'deleteVectorStore', summary: 'Delete a vector store.', request: { params: StoreParams }, responses: jsonResponse(VectorStoreDeleted, 'Deletion status.') }),
      async (c) => c.json(await vs.service.delete(c.get('project'), c.req.valid('param').vector_store_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/vector_stores/{vector_store_id}/search',
        operationId: 'searchVectorStore',
        summary: 'Search a vector store for relevant chunks based on a query and file attributes filter.',
        request: { params: StoreParams, ...jsonRequest(VectorStoreSearchParams) },
        responses: jsonResponse(VectorStoreSearchResultsPage, 'The search results.'),
      }),
      async (c) => c.json(await vs.search.search(c.get('project'), c.req.valid('param').vector_store_id, c.req.valid('json'), c.req.raw.signal), 200),
    )
