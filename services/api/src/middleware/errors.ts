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

/** The one place errors become responses: always OpenAI's body, never an internal message. */
export function renderError(err: unknown, c: Context<AppEnv>): Response {
  let apiError: ApiError
  if (err instanceof ApiError) apiError = err
  else if (err instanceof HTTPException) {
    apiError = new ApiError(err.status as ApiError['status'], err.message || 'Bad request.')
  } else if (err instanceof UpstreamError) {
    // A model provider the request needed (the embedding model of a vector store search) failed
    // after its retries: the request was valid, so not a 4xx, and nothing of ours broke, so not a 500.
    // 429 and 503 are what the SDKs retry on their own.
    c.get('log')?.warn(
      { requestId: c.get('requestId'), upstreamStatus: err.status, attempts: err.attempts, cause: err.describeCause(), ...idsInPath(c.req.path) },
      'upstream failed',
    )
    apiError = upstreamApiError(err)
  } else if (isRedisDown(err)) {
    apiError = new ApiError(503, 'The service is temporarily unavailable (storage unreachable). Please retry.', {
      type: 'server_error',
      code: 'service_unavailable',
    })
  } else {
    c.get('log')?.error({ err, requestId: c.get('requestId'), ...idsInPath(c.req.path) }, 'unhandled error')
    apiError = new ApiError(500, 'The server had an error while processing your request. Sorry about that!', { type: 'server_error' })
  }
  for (const [k, v] of Object.entries(apiError.opts.headers ?? {})) c.header(k, v)
  if (apiError.status === 503) c.header('retry-after', '1')
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
