import { createRoute, z } from '@hono/zod-openapi'
import { Model, ModelList } from '@threadwork/domain'
import { jsonResponse, resourceApp } from './openapi.js'

/** What the models routes need: the upstream providers' catalogue (cached briefly). */
export interface ModelsCatalog {
  list(): Promise<Model[]>
  retrieve(id: string): Promise<Model>
}

export const modelRoutes = (models: ModelsCatalog) =>
  resourceApp()
    .openapi(createRoute({ method: 'get', path: '/models', operationId: 'listModels', responses: jsonResponse(ModelList, 'The models.') }), async (c) =>
      c.json({ object: 'list' as const, data: await models.list() }, 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/models/{model}', operationId: 'retrieveModel', request: { params: z.object({ model: z.string() }) }, responses: jsonResponse(Model, 'The model.') }),
      async (c) => c.json(await models.retrieve(c.req.valid('param').model), 200),
    )
