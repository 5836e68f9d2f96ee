import { ApiError } from '@threadwork/domain'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

/** Shows enough of a key to recognise it, as OpenAI does, and never the whole of it. */
export const maskKey = (key: string) => (key.length <= 8 ? '***' : `${key.slice(0, 3)}***${key.slice(-4)}`)

/** `Authorization: Bearer <key>` → the key's project in `c.var.project`; 401 otherwise. */
export const apiKeyAuth =
  (apiKeys: ReadonlyMap<string, string>): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const key = bearerKey(c.req.header('authorization'))
    if (key === null) {
      throw new ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      )
    }
    const project = apiKeys.get(key)
    if (!project) throw new ApiError(401, `Incorrect API key provided: ${maskKey(key)}.`, { code: 'invalid_api_key' })
    c.set('project', project)
    await next()
  }

/** The key of an `Authorization: Bearer <key>` header, or null when there is none (the fast path, fast-path/, reads it so too). */
export function bearerKey(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec((header ?? '').trim())
  return match ? match[1]!.trim() : null
}
