import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import { redactSecrets } from './redact.js'

/** The `last_error.code` values OpenAI uses for runs; all we ever report for upstream failures. */
export type UpstreamErrorCode = 'server_error' | 'rate_limit_exceeded' | 'invalid_prompt'

/** What went wrong upstream, and whether trying again could help. */
export interface UpstreamFailure {
  aborted: false
  retryable: boolean
  code: UpstreamErrorCode
  /** Safe to show an API client: no keys, no URLs with credentials, at most 500 characters. */
  message: string
  /** HTTP status from the provider, when there was a response. */
  status: number | null
  /** From `retry-after-ms` / `retry-after` (seconds or HTTP date), when the provider sent one. */
  retryAfterMs: number | null
}

/** Our own cancellation (the signal we passed was aborted). */
export interface UpstreamAbort {
  aborted: true
}

export type UpstreamErrorClass = UpstreamFailure | UpstreamAbort

/**
 * The one error upstream calls end in (besides aborts). `message` is user-safe; the original
 * error is `cause` — log it, never send it to a client.
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError'
  readonly code: UpstreamErrorCode
  readonly retryable: boolean
  readonly status: number | null
  readonly retryAfterMs: number | null
  /** How many attempts were made before giving up. */
  readonly attempts: number

  constructor(failure: Omit<UpstreamFailure, 'aborted'>, options: { attempts?: number; cause?: unknown } = {}) {
    super(failure.message, { cause: options.cause })
    this.code = failure.code
    this.retryable = failure.retryable
    this.status = failure.status
    this.retryAfterMs = failure.retryAfterMs
    this.attempts = options.attempts ?? 1
  }

  /** The run's `last_error`. */
  toLastError(): { code: UpstreamErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }

  /** What actually went wrong, for the operator's log (never for a client): {@link describeErrorChain} of the cause, else the message. */
  describeCause(): string {
    return this.cause === undefined ? redactSecrets(this.message) : describeErrorChain(this.cause)
  }
}

/**
 * A stream that failed or ended early. When `outputEmitted` is true, deltas already reached the
 * caller's callbacks, so a retry would show the user duplicated text: it is never retried.
 */
export class StreamInterruptedError extends Error {
  override name = 'StreamInterruptedError'
  constructor(
    message: string,
    readonly outputEmitted: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
  }
}

/**
 * An error and its causes, outermost first, for an operator's log (never for a client):
 * `APIConnectionError: Connection error. ← TypeError: fetch failed ← Error: connect ECONNREFUSED
 * 127.0.0.1:11434`. Redacted with redactSecrets (keys, bearer tokens, URL credentials); ≤ 500 characters.
 */
export function describeErrorChain(err: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e) && parts.length < 6; e = (e as { cause?: unknown }).cause) {
    seen.add(e)
    if (!(e instanceof Error)) {
      parts.push(String(e))
      break
    }
    const code = (e as { code?: unknown }).code
    // The openai package's errors keep `name` 'Error'; their class says which one.
    const name = e.name === 'Error' && e.constructor.name ? e.constructor.name : e.name
    parts.push(`${name}: ${e.message}${typeof code === 'string' && !e.message.includes(code) ? ` (${code})` : ''}`)
  }
  return redactSecrets(parts.join(' ← '))
}

// Node/undici codes for a connection that failed or dropped; all worth another attempt.
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

// Upstream error codes that mean "the prompt itself is the problem", whatever the status.
const PROMPT_CODES = new Set(['context_length_exceeded', 'invalid_prompt', 'string_above_max_length', 'content_policy_violation'])

const failure = (
  retryable: boolean,
  code: UpstreamErrorCode,
  message: string,
  status: number | null = null,
  retryAfterMs: number | null = null,
): UpstreamFailure => ({ aborted: false, retryable, code, message, status, retryAfterMs })

/** Classifies anything thrown while calling a provider through the `openai` package. */
export function classifyUpstreamError(err: unknown): UpstreamErrorClass {
  if (isAbortError(err)) return { aborted: true }
  if (err instanceof UpstreamError) {
    return failure(err.retryable, err.code, err.message, err.status, err.retryAfterMs)
  }
  if (err instanceof StreamInterruptedError) {
    const inner = err.cause === undefined ? undefined : classifyUpstreamError(err.cause)
    if (inner?.aborted) return inner
    const base = inner ?? failure(true, 'server_error', err.message)
    return err.outputEmitted ? { ...base, retryable: false } : base
  }
  if (err instanceof APIConnectionTimeoutError) return failure(true, 'server_error', 'The upstream model provider timed out.')
  if (err instanceof APIConnectionError) return failure(true, 'server_error', 'Could not connect to the upstream model provider.')
  if (err instanceof APIError) return classifyApiError(err)
  if (isConnectionDrop(err)) return failure(true, 'server_error', 'The connection to the upstream model provider was interrupted.')
  // Anything else is a bug or a malformed response; retrying will not fix either.
  return failure(false, 'server_error', 'An internal error occurred while calling the upstream model.')
}

function classifyApiError(err: APIError): UpstreamFailure {
  const status = typeof err.status === 'number' ? err.status : null
  const upstreamMessage = bodyMessage(err)
  const shouldRetry = err.headers?.get('x-should-retry')

  if (status === null) {
    // An error event inside a 200 stream: trust its code/type, else assume a transient fault.
    if (err.code === 'rate_limit_exceeded') return failure(true, 'rate_limit_exceeded', 'The upstream model provider is rate limiting requests.')
    if (err.type === 'invalid_request_error' || (err.code && PROMPT_CODES.has(err.code))) {
      return failure(false, 'invalid_prompt', upstreamMessage ?? 'The upstream model provider rejected the request.')
    }
    return failure(true, 'server_error', 'The upstream model provider reported an error mid-stream.')
  }

  if (status === 429) {
    // OpenAI sends 429 `insufficient_quota` for an empty account: retrying cannot help.
    if (err.code === 'insufficient_quota') {
      return failure(false, 'rate_limit_exceeded', 'The upstream model provider quota is exhausted.', status)
    }
    return failure(true, 'rate_limit_exceeded', 'The upstream model provider is rate limiting requests.', status, retryAfterMs(err.headers))
  }
  if (status === 408 || status === 409 || status >= 500) {
    // The provider may say explicitly not to retry (OpenAI's `x-should-retry`).
    return failure(shouldRetry !== 'false', 'server_error', `The upstream model provider returned an error (HTTP ${status}).`, status, retryAfterMs(err.headers))
  }
  if (status === 400 || status === 413 || status === 422 || (err.code && PROMPT_CODES.has(err.code))) {
    return failure(shouldRetry === 'true', 'invalid_prompt', upstreamMessage ?? `The upstream model provider rejected the request (HTTP ${status}).`, status)
  }
  if (status === 401 || status === 403) {
    // Our configuration, not the user's request: never echo the provider's text (it can quote the key).
    return failure(false, 'server_error', `The upstream model provider rejected the configured credentials (HTTP ${status}).`, status)
  }
  return failure(
    shouldRetry === 'true',
    'server_error',
    upstreamMessage ? `The upstream model provider returned HTTP ${status}: ${upstreamMessage}` : `The upstream model provider returned HTTP ${status}.`,
    status,
  )
}

/** The provider's own `error.message`, redacted, or null. */
function bodyMessage(err: APIError): string | null {
  // OpenAI/llama.cpp: `{error: {message}}`; Ollama: `{error: "text"}`. vLLM's top-level
  // `{message}` never reaches us: the SDK only keeps the `error` field.
  const body: unknown = err.error
  const raw =
    typeof body === 'string' ? body : typeof (body as { message?: unknown } | undefined)?.message === 'string' ? (body as { message: string }).message : null
  if (!raw) return null
  const safe = redactSecrets(raw)
  return safe === '' ? null : safe
}

/** Milliseconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined | null, now = Date.now()): number | null {
  if (!headers || typeof headers.get !== 'function') return null
  const ms = headers.get('retry-after-ms')
  if (ms !== null && ms.trim() !== '') {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value)
  }
  const ra = headers.get('retry-after')
  if (ra === null || ra.trim() === '') return null
  const seconds = Number(ra)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : null
  const date = Date.parse(ra)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

// What providers say when a prompt exceeds the model's window: OpenAI and DeepSeek
// ("This model's maximum context length is N tokens"), vLLM (the same), llama.cpp ("exceeds the
// available context size"), Anthropic-style gateways ("prompt is too long").
const CONTEXT_TEXT = /context[_ ]length|maximum context|context size|context window|prompt is too long|too many tokens/i

/**
 * Whether a provider refused the request because the prompt exceeds the model's context window;
 * `maxTokens` is the window when the provider said it ("maximum context length is 8192 tokens").
 * Looks through `UpstreamError`/`StreamInterruptedError` causes to the SDK's `APIError`.
 */
export function contextLengthExceeded(err: unknown): { maxTokens: number | null } | null {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof APIError) {
      const text = `${current.code ?? ''} ${bodyMessage(current) ?? current.message}`
      if (current.code !== 'context_length_exceeded' && !CONTEXT_TEXT.test(text)) return null
      const n = /maximum context length is (\d+)/i.exec(text)?.[1] ?? /context size[^\d]{0,20}(\d+)/i.exec(text)?.[1]
      return { maxTokens: n ? Number(n) : null }
    }
    current = (current as { cause?: unknown }).cause
  }
  return null
}

/** True for our own cancellation: the SDK's `APIUserAbortError` or any `AbortError`. */
export function isAbortError(err: unknown): boolean {
  return err instanceof APIUserAbortError || (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError')
}

function isConnectionDrop(err: unknown): boolean {
  // undici wraps socket resets as `TypeError: terminated` with the real code somewhere in `cause`.
  let current: unknown = err
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, name } = current as { code?: unknown; message?: unknown; name?: unknown }
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
    if (name === 'TypeError' && (message === 'terminated' || message === 'fetch failed')) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}
