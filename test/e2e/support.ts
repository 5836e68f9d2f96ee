import { type ApiServer, type ApiServerOptions, startApiServer } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { expect } from 'vitest'

/** The SDK as a user configures it against Threadwork; retries off so every error surfaces once. */
export const sdk = (server: ApiServer, apiKey = server.apiKey) => new OpenAI({ baseURL: server.baseURL, apiKey, maxRetries: 0 })

/** A running API (real Redis, own prefix) with an SDK client on its first key. */
export async function startStack(opts?: ApiServerOptions): Promise<{ server: ApiServer; client: OpenAI }> {
  const server = await startApiServer(opts)
  return { server, client: sdk(server) }
}

/** `asst_` / `thread_` / `msg_` followed by 24 base62 characters (style §6). */
export const idOf = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}_[0-9A-Za-z]{24}$`))

/** An integer Unix timestamp in seconds, within a minute of now. */
export const recentSeconds = () =>
  expect.toSatisfy((v: unknown) => Number.isInteger(v) && Math.abs((v as number) - Date.now() / 1000) < 60, 'integer Unix seconds close to now')

/** Runs `fn` and returns the SDK error it rejects with (fails the test if it resolves). */
export async function apiError(fn: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(OpenAI.APIError)
    return err as InstanceType<typeof OpenAI.APIError>
  }
  throw new Error('expected the call to fail, but it succeeded')
}
