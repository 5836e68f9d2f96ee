import { type ProviderRouter, createProviderRouter } from './provider-router.js'
import { loadProviderRoutes } from './provider-routes.js'

export interface UpstreamSettings {
  UPSTREAM_BASE_URL?: string | undefined
  UPSTREAM_API_KEY?: string | undefined
  PROVIDERS_FILE?: string | undefined
  UPSTREAM_TIMEOUT_MS: number
  CONTEXT_WINDOW_TOKENS?: number | undefined
}

/** The router both the API (model checks, /v1/models) and the workers (model calls) use. */
export async function routerFromSettings(s: UpstreamSettings): Promise<ProviderRouter> {
  return createProviderRouter({
    defaultProvider: s.UPSTREAM_BASE_URL ? { baseURL: s.UPSTREAM_BASE_URL, apiKey: s.UPSTREAM_API_KEY, name: 'default' } : null,
    routes: s.PROVIDERS_FILE ? await loadProviderRoutes(s.PROVIDERS_FILE) : [],
    timeoutMs: s.UPSTREAM_TIMEOUT_MS,
    contextWindowTokens: s.CONTEXT_WINDOW_TOKENS,
  })
}
