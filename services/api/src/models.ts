import type { ApiEnv } from '@threadwork/config'
import { ApiError } from '@threadwork/domain'
import type { ModelsCatalog } from './routes/models.js'

/** Placeholder until the model-client package lands: no provider configured. */
export function createModels(_env: ApiEnv): ModelsCatalog {
  const none = () => new ApiError(503, 'No upstream model provider is configured: set UPSTREAM_BASE_URL (and UPSTREAM_API_KEY).', { type: 'server_error', code: 'no_provider' })
  return {
    list: async () => Promise.reject(none()),
    retrieve: async () => Promise.reject(none()),
  }
}
