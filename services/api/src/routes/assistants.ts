import { createRoute, z } from '@hono/zod-openapi'
import { Assistant, AssistantCreateParams, AssistantDeleted, AssistantList, AssistantUpdateParams, ListQuery } from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { ModelGate } from '../model-gate.js'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { resolveCreateResources } from '../vector-stores/resolve.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const AssistantParams = z.object({ assistant_id: z.string() })

export const assistantRoutes = (stores: Stores, modelGate: ModelGate | null, vs: VectorStoresApi | null = null) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'post', path: '/assistants', operationId: 'createAssistant', request: jsonRequest(AssistantCreateParams), responses: jsonResponse(Assistant, 'The assistant.') }),
      async (c) => {
        const params = c.req.valid('json')
        await modelGate?.forAssistant(params.model)
        // Last check before storing: the vector_stores helper creates a store.
        const tool_resources = await resolveCreateResources(vs, c.get('project'), params.tool_resources)
        return c.json(await stores.assistants.create(c.get('project'), { ...params, tool_resources }), 200)
      },
    )
    .openapi(
      createRoute({ method: 'get', path: '/assistants', operationId: 'listAssistants', request: { query: ListQuery }, responses: jsonResponse(AssistantList, 'A page of assistants.') }),
      async (c) => c.json(await stores.assistants.list(c.get('project'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/assistants/{assistant_id}', operationId: 'getAssistant', request: { params: AssistantParams }, responses: jsonResponse(Assistant, 'The assistant.') }),
      async (c) => c.json(await stores.assistants.get(c.get('project'), c.req.valid('param').assistant_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/assistants/{assistant_id}',
        operationId: 'modifyAssistant',
        request: { params: AssistantParams, ...jsonRequest(AssistantUpdateParams, false) },
        responses: jsonResponse(Assistant, 'The modified assistant.'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        if (params.model) await modelGate?.forAssistant(params.model)
        await vs?.toolResources.checkIds(c.get('project'), params.tool_resources)
        return c.json(await stores.assistants.update(c.get('project'), c.req.valid('param').assistant_id, params), 200)
      },
    )
    .openapi(
      createRoute({ method: 'delete', path: '/assistants/{assistant_id}', operationId: 'deleteAssistant', request: { params: AssistantParams }, responses: jsonResponse(AssistantDeleted, 'Deletion status.') }),
      async (c) => c.json(await stores.assistants.delete(c.get('project'), c.req.valid('param').assistant_id), 200),
    )
