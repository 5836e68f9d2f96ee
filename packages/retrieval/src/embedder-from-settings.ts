import type { ProviderRouter } from '@threadwork/model-client'
import { type Embedder, createEmbedder } from './embedder.js'

export interface EmbeddingSettings {
  EMBEDDING_MODEL?: string | undefined
  EMBEDDING_DIMENSIONS?: number | undefined
  /** Attempts per request, as for chat calls (worker's UPSTREAM_MAX_ATTEMPTS). Default 4. */
  UPSTREAM_MAX_ATTEMPTS?: number | undefined
}

/**
 * The configured embedder, routed like a chat model: `EMBEDDING_MODEL` goes to the first provider
 * route matching it, else the default provider. null when EMBEDDING_MODEL is unset (keyword-only
 * search). Throws an Error with one line to print at boot when no provider serves the model.
 */
export function embedderFromSettings(router: ProviderRouter, settings: EmbeddingSettings): Embedder | null {
  const model = settings.EMBEDDING_MODEL
  if (!model) return null
  const resolved = router.resolve(model)
  if (!resolved) {
    throw new Error(`EMBEDDING_MODEL '${model}' matches no provider: set UPSTREAM_BASE_URL or add a route for it to PROVIDERS_FILE.`)
  }
  return createEmbedder({
    client: resolved.client,
    model,
    dimensions: settings.EMBEDDING_DIMENSIONS ?? null,
    maxAttempts: settings.UPSTREAM_MAX_ATTEMPTS ?? 4,
  })
}
