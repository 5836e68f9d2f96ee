import { ApiError, type Model } from '@threadwork/domain'
import { ModelsCatalogError, type ProviderRouter, createModelsCatalog } from '@threadwork/model-client'
import type { ModelsCatalog } from './routes/models.js'

/** `/v1/models` answered from the upstream providers, cached briefly. */
export function createModels(router: ProviderRouter): ModelsCatalog {
  const catalog = createModelsCatalog(router)
  const toApiError = (err: unknown) =>
    err instanceof ModelsCatalogError
      ? new ApiError(503, err.code === 'no_providers_configured' ? 'No upstream model provider is configured: set UPSTREAM_BASE_URL (and UPSTREAM_API_KEY) or PROVIDERS_FILE.' : err.message, {
          type: 'server_error',
          code: err.code,
        })
      : err
  return {
    list: () => catalog.list().catch((err) => Promise.reject(toApiError(err))) as Promise<Model[]>,
    async retrieve(id) {
      const model = await catalog.retrieve(id).catch((err) => Promise.reject(toApiError(err)))
      if (!model) throw new ApiError(404, `The model '${id}' does not exist or you do not have access to it.`, { code: 'model_not_found' })
      return model as Model
    },
  }
}
