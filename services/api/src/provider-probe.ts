import type { Logger } from '@threadwork/logger'
import { type ProviderRouter, describeErrorChain } from '@threadwork/model-client'
import { APIConnectionError } from 'openai'

/**
 * At start, asks each configured provider for its model list once and logs one warning per
 * provider that cannot be reached (connection refused, DNS, timeout): `.env.example`'s default
 * `UPSTREAM_BASE_URL` is a local Ollama, and without this line a first run's runs fail with only
 * "Could not connect to the upstream model provider." to go on. A provider that answers, even
 * with an error (many servers have no `GET /models`), is reachable and not reported. Never throws.
 *
 * @param timeoutMs per provider (default 5 000).
 * @returns the names of the providers found unreachable (for tests).
 */
export async function probeProviders(router: ProviderRouter, log: Pick<Logger, 'warn'>, timeoutMs = 5_000): Promise<string[]> {
  const unreachable: string[] = []
  await Promise.all(
    router.providers().map(async (provider) => {
      try {
        await router.clientFor(provider).models.list({ timeout: timeoutMs, maxRetries: 0 })
      } catch (err) {
        if (!(err instanceof APIConnectionError)) return
        unreachable.push(provider.name)
        log.warn(
          { provider: provider.name, baseURL: provider.baseURL, cause: describeErrorChain(err) },
          'model provider unreachable: runs using it will fail until it answers (check UPSTREAM_BASE_URL or PROVIDERS_FILE)',
        )
      }
    }),
  )
  return unreachable
}
