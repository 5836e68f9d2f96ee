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
