import { ApiError } from '@threadwork/domain'
import { UpstreamError } from '@threadwork/model-client'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { AppEnv } from '../env.js'
import { idsInPath } from './request-log.js'

const isRedisDown = (err: unknown): boolean => {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : ''
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|MaxRetriesPerRequestError|enableOfflineQueue|Redis not ready/i.test(msg)
}

/** What to log about an error answered (the request's id and the ids in its path are added), or null for nothing. */
export interface ErrorNote {
  level: 'warn' | 'error'
  msg: string
  fields: (requestId: string | undefined, pathIds: Record<string, string>) => Record<string, unknown>
}

/**
 * The `ApiError` an error is answered with, and what to log about it: itself; an `HTTPException`'s
 * status and message; a model provider's failure (`UpstreamError`) as 429/503, logged as a warning;
 * a 503 when storage is unreachable; else OpenAI's 500, logged as an unhandled error (never shown).
 */
export function toAnsweredError(err: unknown): { apiError: ApiError; note: ErrorNote | null } {
  if (err instanceof ApiError) return { apiError: err, note: null }
  if (err instanceof HTTPException) return { apiError: new ApiError(err.status as ApiError['status'], err.message || 'Bad request.'), note: null }
  if (err instanceof UpstreamError) {
    // A model provider the request needed (the embedding model of a vector store search) failed
    // after its retries: the request was valid, so not a 4xx, and nothing of ours broke, so not a 500.
    // 429 and 503 are what the SDKs retry on their own.
    return {
      apiError: upstreamApiError(err),
      note: {
        level: 'warn',
        msg: 'upstream failed',
        fields: (requestId, pathIds) => ({ requestId, upstreamStatus: err.status, attempts: err.attempts, cause: err.describeCause(), ...pathIds }),
      },
    }
  }
  if (isRedisDown(err)) {
    return {
      apiError: new ApiError(503, 'The service is temporarily unavailable (storage unreachable). Please retry.', {
        type: 'server_error',
        code: 'service_unavailable',
      }),
      note: null,
    }
  }
  return {
    apiError: new ApiError(500, 'The server had an error while processing your request. Sorry about that!', { type: 'server_error' }),
    note: { level: 'error', msg: 'unhandled error', fields: (requestId, pathIds) => ({ err, requestId, ...pathIds }) },
  }
}

/** The headers an error's answer carries besides the body's: its own, and `retry-after: 1` on a 503. */
export function errorHeaders(apiError: ApiError): Record<string, string> {
  const headers: Record<string, string> = { ...apiError.opts.headers }
  if (apiError.status === 503) headers['retry-after'] = '1'
  return headers
}

/** The one place errors become responses: always OpenAI's body, never an internal message (the fast path, fast-path/, answers as this does). */
export function renderError(err: unknown, c: Context<AppEnv>): Response {
  const { apiError, note } = toAnsweredError(err)
  if (note) c.get('log')?.[note.level](note.fields(c.get('requestId'), idsInPath(c.req.path)), note.msg)
  for (const [k, v] of Object.entries(errorHeaders(apiError))) c.header(k, v)
  return c.json(apiError.toBody(), apiError.status)
}

/** An {@link UpstreamError} as OpenAI's body: 429 `rate_limit_exceeded` (with the provider's wait), else 503 `upstream_unavailable`. */
function upstreamApiError(err: UpstreamError): ApiError {
  if (err.code === 'rate_limit_exceeded') {
    const headers = err.retryAfterMs !== null ? { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) } : undefined
    return new ApiError(429, err.message, { type: 'server_error', code: 'rate_limit_exceeded', headers })
  }
  return new ApiError(503, err.message, { type: 'server_error', code: 'upstream_unavailable' })
}
