import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import type { Dispatcher } from 'undici'
import { parseRetryAfter } from './retry-after.js'
import { SsrfBlockedError } from '@threadwork/egress'

/** Svix counts a delivery as successful only if a 2xx arrives within 15 s (research §4.2). */
export const DEFAULT_TIMEOUT_MS = 15_000
/** Enough for an error page's first lines in the delivery log; a receiver cannot make us buffer more. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024

export type SendWebhookInput = {
  url: string
  headers: Readonly<Record<string, string>>
  /** The exact signed bytes; sent unchanged. */
  body: string
  /** Normally `createSafeDispatcher()`; it is what enforces the SSRF policy. */
  dispatcher: Dispatcher
  /** Covers connect, headers and reading the capped body. */
  timeoutMs?: number
  maxResponseBytes?: number
}

/**
 * `error` is null on success, else one of: `'timeout'`, `'connection_error: …'`,
 * `'ssrf_blocked: …'`, `'invalid_url: …'`, `'redirect_not_followed'` (any 3xx), `'http_<status>'`.
 */
export type SendWebhookResult = {
  ok: boolean
  /** The response status, or null when none arrived. */
  status: number | null
  /** From the attempt's start until the capped body was read or the attempt failed. */
  latencyMs: number
  error: string | null
  /** From `retry-after` (seconds or HTTP-date), on any status. */
  retryAfterMs: number | null
  /** At most `maxResponseBytes` of the response body, as UTF-8 text. */
  responseSnippet: string
}

/**
 * POSTs one webhook attempt. Never follows redirects (Standard Webhooks and Svix count a 3xx as
 * a failure; the receiver registers its final URL), never reads more than `maxResponseBytes`,
 * and never throws: every failure becomes a result.
 */
export async function sendWebhook({
  url,
  headers,
  body,
  dispatcher,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
}: SendWebhookInput): Promise<SendWebhookResult> {
  const start = performance.now()
  const finish = (fields: Omit<SendWebhookResult, 'latencyMs'>): SendWebhookResult => ({
    ...fields,
    latencyMs: Math.round(performance.now() - start),
  })
  const failed = (error: string) => finish({ ok: false, status: null, error, retryAfterMs: null, responseSnippet: '' })

  const invalid = validateUrl(url)
  if (invalid) return failed(`invalid_url: ${invalid}`)

  const signal = AbortSignal.timeout(timeoutMs)
  let response: Dispatcher.ResponseData
  try {
    response = await request(url, {
      method: 'POST',
      headers: { ...headers },
      body,
      dispatcher,
      signal,
      // The default, stated: a redirect comes back to us as a 3xx response.
      maxRedirections: 0,
    })
  } catch (err) {
    return failed(describeError(err, signal))
  }

  const { statusCode: status } = response
  const responseSnippet = await readCapped(response.body, maxResponseBytes)
  const ok = status >= 200 && status < 300
  return finish({
    ok,
    status,
    error: ok ? null : status >= 300 && status < 400 ? 'redirect_not_followed' : `http_${status}`,
    retryAfterMs: parseRetryAfter(response.headers['retry-after']),
    responseSnippet,
  })
}

function validateUrl(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'unparseable'
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `unsupported protocol ${parsed.protocol}`
  return null
}

/**
 * Reads up to `maxBytes`, then destroys the stream so the rest is never downloaded. A failure
 * mid-body (timeout, reset) keeps what arrived: the status already decided the outcome.
 */
async function readCapped(stream: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const room = maxBytes - size
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk)
      size += Math.min(chunk.length, room)
      if (size >= maxBytes) break
    }
  } catch {
    // Keep the partial snippet.
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks).toString('utf8')
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

function describeError(err: unknown, signal: AbortSignal): string {
  for (let cause: unknown = err, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause instanceof SsrfBlockedError) return `ssrf_blocked: ${cause.message}`
  }
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined
  if (signal.aborted || (code && TIMEOUT_CODES.has(code))) return 'timeout'
  const message = err instanceof Error ? err.message : String(err)
  return `connection_error: ${code ? `${code} ` : ''}${message}`
}
