import type { Model } from 'openai/resources/models'
import type { Provider, ProviderRouter } from './provider-router.js'

/**
 * `/v1/models` cannot be answered. `status` is what the API should send: 503 in both cases (the
 * server is misconfigured or every provider is down; the client did nothing wrong).
 */
export class ModelsCatalogError extends Error {
  override name = 'ModelsCatalogError'
  readonly status = 503 as const
  constructor(
    readonly code: 'no_providers_configured' | 'providers_unavailable',
    message: string,
  ) {
    super(message)
  }
}

export interface ModelsCatalog {
  /** Union of every provider's models (deduplicated by id), cached for `ttlMs`. */
  list(): Promise<Model[]>
  /** One model from the cached list, or null (→ 404). */
  retrieve(id: string): Promise<Model | null>
  /** Drops the cache; the next call asks the providers again. */
  invalidate(): void
}

export interface ModelsCatalogOptions {
  /** Default 30 000. */
  ttlMs?: number
  /** Per-provider limit for the list call, so one dead provider cannot stall `/v1/models`. Default 10 000. */
  listTimeoutMs?: number
  /** Told about each provider that failed (for logs); the provider is skipped. */
  onProviderError?: (provider: Provider, error: unknown) => void
  /** Clock, for tests. */
  now?: () => number
}

/**
 * Builds the models catalog over a router. A provider's models come from its route's `models`
 * list when it has one, else from `client.models.list()`. A model is listed only if the router
 * would send it back to the provider that listed it, so every listed id is usable for a run.
 */
export function createModelsCatalog(router: ProviderRouter, options: ModelsCatalogOptions = {}): ModelsCatalog {
  const { ttlMs = 30_000, listTimeoutMs = 10_000, onProviderError, now = Date.now } = options
  let cached: { at: number; models: Model[] } | null = null
  let inflight: Promise<Model[]> | null = null

  const fromProvider = async (provider: Provider): Promise<Model[]> => {
    if (provider.models) {
      return provider.models.map((id) => ({ id, object: 'model', created: 0, owned_by: provider.name }))
    }
    const out: Model[] = []
    for await (const m of router.clientFor(provider).models.list({ timeout: listTimeoutMs })) {
      // Keep OpenAI's four fields only: providers add their own (vLLM's max_model_len, …).
      out.push({ id: m.id, object: 'model', created: typeof m.created === 'number' ? m.created : 0, owned_by: m.owned_by || provider.name })
    }
    return out
  }

  const refresh = async (): Promise<Model[]> => {
    const providers = router.providers()
    if (providers.length === 0) {
      throw new ModelsCatalogError('no_providers_configured', 'No upstream model provider is configured.')
    }
    const settled = await Promise.allSettled(providers.map(fromProvider))
    const models = new Map<string, Model>()
    let succeeded = 0
    settled.forEach((result, i) => {
      const provider = providers[i] as Provider
      if (result.status === 'rejected') {
        onProviderError?.(provider, result.reason)
        return
      }
      succeeded++
      for (const model of result.value) {
        if (!models.has(model.id) && router.resolve(model.id)?.provider === provider) models.set(model.id, model)
      }
    })
    if (succeeded === 0) {
      throw new ModelsCatalogError('providers_unavailable', 'No upstream model provider could list its models.')
    }
    const list = [...models.values()]
    cached = { at: now(), models: list }
    return list
  }

  const list = async (): Promise<Model[]> => {
    if (cached && now() - cached.at < ttlMs) return cached.models
    // Concurrent callers share one refresh instead of each hitting every provider.
    inflight ??= refresh().finally(() => {
      inflight = null
    })
    return inflight
  }

  return {
    list,
    async retrieve(id) {
      return (await list()).find((m) => m.id === id) ?? null
    },
    invalidate() {
      cached = null
    },
  }
}
