import type { ZodType } from 'zod'
import { checkJsonShape } from '../middleware/json-shape.js'

/**
 * A request body as json-body.ts accepts it: JSON text (UTF-8) of an object of a sound shape
 * (`checkJsonShape`). Null for anything it would answer otherwise (not JSON, not an object, too
 * deep, a `__proto__` key, empty) or might read otherwise (a byte-order mark, which the web
 * `text()` it reads with drops): the fast path then leaves the request to it.
 */
export function parseJsonObject(body: Buffer): object | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return null
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || checkJsonShape(parsed)) return null
  return parsed
}

/**
 * The body as the route takes it: {@link parseJsonObject}, then `schema` (the route's own zod
 * schema). Null when json-body.ts or the validator would refuse it, or when a synchronous parse
 * cannot tell (an async refinement needs `safeParseAsync`, which the generic path's validator has).
 */
export function parseBody<T>(schema: ZodType<T>, body: Buffer): T | null {
  const parsed = parseJsonObject(body)
  if (parsed === null) return null
  try {
    const result = schema.safeParse(parsed)
    return result.success ? result.data : null
  } catch {
    return null
  }
}
