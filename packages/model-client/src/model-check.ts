import type { Provider, ProviderRouter } from './provider-router.js'

/**
 * Whether a model name can be used, as assistant and run creation ask it (issue 12 item 9):
 * - `ok`: served — its provider lists it, or cannot be asked (no list, list unavailable), or its
 *   route names it explicitly (an exact `match`, or `models`), or is marked `anyModel`;
 * - `not_found`: its provider lists models and this name is not among them (OpenAI's 400 `model_not_found`);
 * - `no_provider`: no route serves the name and there is no default provider;
 * - `unconfigured`: no provider is configured at all (nothing to check against).
 */
export type ModelStatus = 'ok' | 'not_found' | 'no_provider' | 'unconfigured'

export interface ModelCheckOptions {
  /** How long a provider's model list is trusted. Default 30 000 (as `/v1/models`). */
  ttlMs?: number
  /** Per-provider limit for the list call; past it the provider counts as unavailable. Default 5 000. */
  listTimeoutMs?: number
  /** Told about a provider whose list could not be read (for logs); its names are then accepted. */
  onProviderError?: (provider: Provider, error: unknown) => void
  now?: () => number
}

/**
 * Builds the check over a router. Each provider's list (`GET /models`) is read at most once per
 * `ttlMs`, concurrent checks sharing one read; an unavailable list is remembered for `ttlMs` too,
 * so a dead provider does not slow every create down.
 */
export function createModelCheck(router: ProviderRouter, options: ModelCheckOptions = {}): (model: string) => Promise<ModelStatus> {
  const { ttlMs = 30_000, listTimeoutMs = 5_000, onProviderError, now = Date.now } = options
  const cache = new Map<Provider, { at: number; ids: Promise<Set<string> | null> }>()

  const read = async (provider: Provider): Promise<Set<string> | null> => {
    try {
      const ids = new Set<string>()
      for await (const m of router.clientFor(provider).models.list({ timeout: listTimeoutMs })) ids.add(m.id)
      // An empty list tells nothing (some servers answer `[]`): accept rather than refuse everything.
      return ids.size > 0 ? ids : null
    } catch (err) {
      onProviderError?.(provider, err)
      return null
    }
  }

  const idsOf = (provider: Provider): Promise<Set<string> | null> => {
    const hit = cache.get(provider)
    if (hit && now() - hit.at < ttlMs) return hit.ids
    const ids = read(provider)
    cache.set(provider, { at: now(), ids })
    return ids
  }

  return async (model) => {
    const resolved = router.resolve(model)
    if (!resolved) return router.providers().length === 0 ? 'unconfigured' : 'no_provider'
    const { provider } = resolved
    if (provider.settings.anyModel || provider.models?.includes(model) || provider.exactly(model)) return 'ok'
    const ids = await idsOf(provider)
    return ids === null || ids.has(model) ? 'ok' : 'not_found'
  }
}
