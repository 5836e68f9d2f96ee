import { randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

/** Every response carries `x-request-id`; openai-node exposes it as `err.requestID`. */
export const requestId = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const id = newRequestId()
  c.set('requestId', id)
  c.header('x-request-id', id)
  await next()
  // Responses built outside `c` (onError, notFound, sub-apps) still get the header.
  if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', id)
}

/** `req_` and 32 hex digits. randomUUID draws from a cached pool, where randomBytes(16) per request cost a call into OpenSSL each time (issue 14). */
export const newRequestId = (): string => `req_${randomUUID().replaceAll('-', '')}`
