import { ApiError } from '@threadwork/domain'
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
