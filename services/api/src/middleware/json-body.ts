import { ApiError } from '@threadwork/domain'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'
import { checkJsonShape } from './json-shape.js'

/**
 * Reads and parses a request body once, before validation: oversized → 413, not JSON → 415,
 * malformed → 400, nested too deeply or holding a `__proto__` key → 400 saying so
 * (`checkJsonShape`), empty → `{}` (several POSTs take no body). Runs only for requests a route
 * serves (app.ts checks the route first). The parsed value is put in Hono's
 * body cache so the route validators reuse it.
 */
export const jsonBody =
  (maxBytes: number): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (c.req.method !== 'POST' && c.req.method !== 'PUT' && c.req.method !== 'PATCH') return next()
    const length = c.req.header('content-length')
    const declared = Number(length ?? 0)
    if (declared > maxBytes) throw tooLarge(maxBytes)
    // A declared length bounds the body (Node's parser reads no more), so it can be read whole:
    // `text()` on @hono/node-server's request reads the socket directly, where a reader makes a web
    // stream of it first (~9 % of the API's CPU on the turn path, profiled). Chunked bodies are
    // counted as they arrive.
    const raw = length !== undefined ? await c.req.raw.text() : await readLimited(c.req.raw, maxBytes)
    if (raw === null) {
      // The rest of the chunked body is left unread, and Node closes the socket after the answer:
      // say so, or a keep-alive client (the SDKs' pools) sends its next request into a closed socket.
      c.header('Connection', 'close')
      throw tooLarge(maxBytes)
    }
    let parsed: unknown = {}
    if (raw.trim().length > 0) {
      const type = c.req.header('content-type') ?? ''
      if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
        throw new ApiError(415, `Unsupported content type '${type || 'none'}'. The request body must be JSON (Content-Type: application/json).`, {
          code: 'unsupported_media_type',
        })
      }
      try {
        parsed = JSON.parse(raw)
      } catch {
        throw ApiError.invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The API expects a JSON payload, but what was sent was not valid JSON.)",
        )
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        // `typeof null` is 'object': name null, arrays and the scalars as JSON does.
        const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`
        throw ApiError.invalid(`Invalid body: expected a JSON object, but got ${got}.`)
      }
      const shape = checkJsonShape(parsed)
      if (shape) throw shape
    }
    // Hono's `json()` reads the cached text and parses it (since hono 4.12 or so). A cached `json`
    // alone made it stringify the value, wrap it in a web `Response` and read that back (~8 % of the
    // API's CPU on the turn path, profiled, issue 14): cache the text too, `{}` for an empty body.
    const cache = (c.req as unknown as { bodyCache: Record<string, unknown> }).bodyCache
    cache.text = Promise.resolve(raw.trim().length > 0 ? raw : '{}')
    cache.json = Promise.resolve(parsed)
    // The validator only reads JSON when the content type says so; an empty body must still validate.
    if (!c.req.header('content-type')) c.req.raw.headers.set('content-type', 'application/json')
    await next()
  }

const tooLarge = (max: number) => new ApiError(413, `Request body too large: the limit is ${max} bytes.`, { code: 'request_too_large' })

/** The body as text, or null once it exceeds `maxBytes` (reading stops there). */
async function readLimited(req: Request, maxBytes: number): Promise<string | null> {
  if (!req.body) return ''
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel()
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
