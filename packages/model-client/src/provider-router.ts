import { inspect } from 'node:util'
import OpenAI from 'openai'
import { type ProviderRoute, ProviderSettings, compileModelMatcher, parseProviderRoutes } from './provider-routes.js'
import { stripUrlCredentials } from './redact.js'
import { createUpstreamFetch } from './upstream-fetch.js'

/**
 * An upstream provider as the rest of the system sees it. Holds no key: keys live inside the
 * router's closure, so logging or serializing a provider cannot leak one.
 */
export class Provider {
  constructor(
    readonly name: string,
    /** Credentials in the URL (if any) are stripped; the client gets the real one. */
    readonly baseURL: string,
    /** The route's explicit model list, if it has one. */
    readonly models: readonly string[] | undefined,
    /** How the provider's server behaves (see `ProviderSettings`); never holds a secret. */
    readonly settings: ProviderSettings = {},
    /** Window for models with none configured (the router's `contextWindowTokens`). */
    private readonly defaultContextWindow = DEFAULT_CONTEXT_WINDOW_TOKENS,
    /** The route's `match` when it names one model exactly (no `*`/`?`): that name is configured, not guessed. */
    private readonly exactMatch: string | null = null,
  ) {
    this.windows = Object.entries(settings.contextWindows ?? {}).map(([match, tokens]) => ({ matches: compileModelMatcher(match), tokens }))
  }

  private readonly windows: { matches: (model: string) => boolean; tokens: number }[]

  /** Whether the route names `model` exactly in its `match`. */
  exactly(model: string): boolean {
    return this.exactMatch === model
  }

  /** Tokens of prompt + reply `model` takes here: its `contextWindows` entry, the route's window, else the default. */
  contextWindowFor(model: string): number {
    return this.windows.find((w) => w.matches(model))?.tokens ?? this.settings.contextWindowTokens ?? this.defaultContextWindow
  }

  toJSON(): { name: string; baseURL: string } {
    return { name: this.name, baseURL: this.baseURL }
  }

  [inspect.custom](): string {
    return `Provider(${this.name} ${this.baseURL})`
  }
}

/** The window assumed for a model nobody configured one for (CONTEXT_WINDOW_TOKENS overrides it). */
export const DEFAULT_CONTEXT_WINDOW_TOKENS = 128_000

export interface ResolvedProvider {
  provider: Provider
  /**
   * Shared per provider, `maxRetries: 0` (callers use `withUpstreamRetries`). It holds the api key:
   * never log or serialize it.
   */
  client: OpenAI
}

export interface ProviderRouter {
  /** First route whose `match`/`models` accept `model`, else the default provider, else null (→ 400). */
  resolve(model: string): ResolvedProvider | null
  /** Every configured provider, routes first (in order), then the default. */
  providers(): readonly Provider[]
  /** The (lazily created) client of one of this router's providers. */
  clientFor(provider: Provider): OpenAI
}

export interface ProviderRouterOptions {
  /** Where models no route matches go (e.g. UPSTREAM_BASE_URL / UPSTREAM_API_KEY). */
  defaultProvider?: ({ baseURL: string; apiKey?: string | undefined; name?: string } & ProviderSettings) | null
  routes?: readonly ProviderRoute[]
  /** Time to response headers per request, ms. Default 120 000 (UPSTREAM_TIMEOUT_MS). */
  timeoutMs?: number
  /** Context window of models no route configures one for. Default {@link DEFAULT_CONTEXT_WINDOW_TOKENS}. */
  contextWindowTokens?: number
  /** Where `apiKeyEnv` is looked up. Default `process.env`, read once here. */
  env?: Record<string, string | undefined>
}

interface Entry {
  provider: Provider
  matches: (model: string) => boolean
  realBaseURL: string
  apiKey: string | undefined
  timeoutMs: number
}

// The SDK refuses to build a client without a key; keyless local servers (Ollama, llama.cpp,
// vLLM without --api-key) ignore the Authorization header, so any placeholder works.
const NO_KEY = 'no-key'

/**
 * Builds the model → provider router. Validates routes and resolves every `apiKeyEnv` now, so a
 * misconfiguration fails at boot with one line instead of at the first run.
 */
export function createProviderRouter(options: ProviderRouterOptions = {}): ProviderRouter {
  const env = options.env ?? process.env
  const timeoutMs = options.timeoutMs ?? 120_000
  const routes = parseProviderRoutes(options.routes ?? [])
  const entries: Entry[] = []
  const names = new Set<string>()

  const add = (
    name: string,
    baseURL: string,
    apiKey: string | undefined,
    matches: Entry['matches'],
    models: readonly string[] | undefined,
    timeout: number | undefined,
    settings: ProviderSettings,
    exactMatch: string | null = null,
  ) => {
    if (names.has(name)) throw new Error(`Duplicate provider name "${name}": give one of the routes a distinct "name".`)
    names.add(name)
    entries.push({
      provider: new Provider(name, stripUrlCredentials(baseURL), models, settings, options.contextWindowTokens ?? DEFAULT_CONTEXT_WINDOW_TOKENS, exactMatch),
      matches,
      realBaseURL: baseURL,
      apiKey,
      timeoutMs: timeout ?? timeoutMs,
    })
  }

  for (const route of routes) {
    const name = route.name ?? route.match
    let apiKey = route.apiKey
    if (route.apiKeyEnv) {
      apiKey = env[route.apiKeyEnv]
      if (!apiKey) throw new Error(`Provider "${name}": environment variable ${route.apiKeyEnv} (apiKeyEnv) is not set.`)
    }
    const { name: _n, match, baseURL, apiKey: _k, apiKeyEnv: _e, models, timeoutMs: timeout, ...settings } = route
    add(name, baseURL, apiKey, compileModelMatcher(match, models), models, timeout, settings, /[*?]/.test(match) ? null : match)
  }
  const fallback = options.defaultProvider
  if (fallback) {
    if (!URL.canParse(fallback.baseURL)) throw new Error('Default provider: baseURL is not a valid URL.')
    const { name, baseURL, apiKey, ...settings } = fallback
    add(name ?? 'default', baseURL, apiKey || undefined, () => true, undefined, undefined, ProviderSettings.parse(settings))
  }

  const clients = new Map<Provider, OpenAI>()
  // One connection pool for every provider's client; undici's request under the SDK (upstream-fetch.ts).
  const upstreamFetch = createUpstreamFetch()
  const byProvider = new Map(entries.map((e) => [e.provider, e]))

  const clientFor = (provider: Provider): OpenAI => {
    let client = clients.get(provider)
    if (client) return client
    const entry = byProvider.get(provider)
    if (!entry) throw new Error(`Provider "${provider.name}" does not belong to this router.`)
    client = new OpenAI({
      apiKey: entry.apiKey ?? NO_KEY,
      baseURL: entry.realBaseURL,
      // We retry ourselves (withUpstreamRetries) so attempts, backoff and cancellation are in one place.
      maxRetries: 0,
      timeout: entry.timeoutMs,
      // Explicit nulls stop the SDK from picking up OPENAI_ORG_ID / OPENAI_PROJECT_ID / OPENAI_ADMIN_KEY
      // from the environment and sending them to third-party providers.
      organization: null,
      project: null,
      adminAPIKey: null,
      fetch: upstreamFetch,
    })
    clients.set(provider, client)
    return client
  }

  return {
    resolve(model) {
      for (const entry of entries) {
        if (entry.matches(model)) return { provider: entry.provider, client: clientFor(entry.provider) }
      }
      return null
    },
    providers: () => entries.map((e) => e.provider),
    clientFor,
  }
}
