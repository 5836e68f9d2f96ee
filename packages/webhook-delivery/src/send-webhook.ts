import { performance } from 'node:perf_hooks'
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
export function sendWebhook({
  url,
  headers,
  body,
  dispatcher,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
}: SendWebhookInput): Promise<SendWebhookResult> {
  const start = performance.now()
  const target = parseTarget(url)
  if (typeof target === 'string') return Promise.resolve(result(start, null, `invalid_url: ${target}`, null, []))
  // Straight through the dispatcher's handler API, not undici's `request()`: no response stream,
  // no async iteration, no AbortSignal per attempt (issue 14: `request()` and its body stream were
  // ~1/3 of the HTTP path's CPU in the webhooks profile). One timer covers connect, headers and
  // the capped body read, as the signal did.
  return new Promise<SendWebhookResult>((resolve) => {
    let status: number | null = null
    let retryAfter: string | undefined
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    let abort: ((err?: Error) => void) | null = null
    let timedOut = false
    const settle = (error: string | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result(start, status, error, retryAfter, chunks))
    }
    /** After a status, it decides the outcome whatever happens to the body (a timeout, a reset). */
    const settleWithStatus = () => settle(outcomeError(status!))
    const timer = setTimeout(() => {
      timedOut = true
      abort?.(new TimeoutError())
      // Before a status: a timeout now, whenever undici gets to abort the request (connecting).
      if (status === null) settle('timeout')
      else settleWithStatus()
    }, timeoutMs)
    const handler: Dispatcher.DispatchHandlers = {
      onConnect(a) {
        abort = a
        if (timedOut) a(new TimeoutError())
      },
      onError(err) {
        if (status !== null) return settleWithStatus()
        settle(describeError(err, timedOut))
      },
      onHeaders(statusCode, rawHeaders) {
        // 1xx informational responses come before the final one (undici passes only 101 here).
        status = statusCode
        retryAfter = headerValue(rawHeaders as unknown as Buffer[] | null, 'retry-after')
        return true
      },
      onData(chunk) {
        const room = maxResponseBytes - size
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk)
        size += Math.min(chunk.length, room)
        if (size < maxResponseBytes) return true
        // Enough of it: hang up, the rest is never downloaded.
        settleWithStatus()
        abort?.(new CappedError())
        return false
      },
      onComplete() {
        if (status !== null) settleWithStatus()
        else settle('connection_error: no response')
      },
      onUpgrade() {
        settle('connection_error: unexpected upgrade')
      },
    }
    try {
      dispatcher.dispatch({ origin: target.origin, path: target.path, method: 'POST', headers, body }, handler)
    } catch (err) {
      settle(describeError(err, false))
    }
  })
}

/** Why the request was aborted by us (never reported: the timer or the cap settled first). */
class TimeoutError extends Error {
  override name = 'TimeoutError'
}
class CappedError extends Error {
  override name = 'CappedError'
}

function result(start: number, status: number | null, error: string | null, retryAfter: string | undefined | null, chunks: Buffer[]): SendWebhookResult {
  return {
    ok: error === null,
    status,
    error,
    retryAfterMs: status === null ? null : parseRetryAfter(retryAfter ?? undefined),
    responseSnippet: chunks.length === 0 ? '' : (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'),
    latencyMs: Math.round(performance.now() - start),
  }
}

/** Null for a 2xx, else what the log says about the status. */
const outcomeError = (status: number): string | null =>
  status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? 'redirect_not_followed' : `http_${status}`

/** The last value of header `name` (lower case) in undici's raw `[name, value, …]` buffers. */
function headerValue(raw: Buffer[] | null, name: string): string | undefined {
  let value: string | undefined
  if (!raw) return value
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) value = raw[i + 1]!.toString('latin1')
  }
  return value
}

/** Where a URL's requests go (`origin`, `path`), or why it cannot be dialled; kept per URL string. */
function parseTarget(url: string): { origin: string; path: string } | string {
  let t = targets.get(url)
  if (t) return t
  t = parseTargetOnce(url)
  // Bounded: the URLs in use are an instance's endpoints and callback URLs.
  if (targets.size >= MAX_TARGETS) targets.clear()
  targets.set(url, t)
  return t
}
const targets = new Map<string, { origin: string; path: string } | string>()
const MAX_TARGETS = 10_000

function parseTargetOnce(url: string): { origin: string; path: string } | string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'unparseable'
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `unsupported protocol ${parsed.protocol}`
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

function describeError(err: unknown, timedOut: boolean): string {
  for (let cause: unknown = err, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause instanceof SsrfBlockedError) return `ssrf_blocked: ${cause.message}`
  }
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined
  if (timedOut || err instanceof TimeoutError || (code && TIMEOUT_CODES.has(code))) return 'timeout'
  const message = err instanceof Error ? err.message : String(err)
  return `connection_error: ${code ? `${code} ` : ''}${message}`
}
