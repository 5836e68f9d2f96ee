import { ApiError } from '@threadwork/domain'
import { formatParam } from './validation-error.js'

/**
 * Levels of nested objects and arrays a request body may have. Valid JSON deeper than this is
 * refused with a message that says so: validation and storage recurse, and the deepest real
 * request (a function's JSON Schema) is a few dozen levels.
 */
export const MAX_JSON_DEPTH = 64

/**
 * Checks a parsed body's shape before validation, without recursion (a body may nest a million
 * levels): deeper than `maxDepth` → 400 saying so; a `__proto__` key anywhere → 400 naming it; a
 * number beyond a double's range (Infinity once parsed) → 400 naming it.
 * `__proto__` is refused rather than stored because a plain object cannot hold it as a key
 * (assigning it replaces the prototype), so it would be silently dropped — and every key the
 * client sent must be stored and returned, or refused (issue 12 item 10). Returns null when fine.
 */
export function checkJsonShape(body: unknown, maxDepth = MAX_JSON_DEPTH): ApiError | null {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: body, path: [] }]
  let deepest = 0
  while (stack.length > 0) {
    const { value, path } = stack.pop()!
    // JSON.parse reads 1e999 as Infinity, which no schema bound refuses reliably and storage writes
    // as null: the client's value would silently become the default.
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return ApiError.invalid(
        `Invalid '${formatParam(path)}': the number is too large to represent (at most about 1.8e308).`,
        formatParam(path),
        'invalid_value',
      )
    }
    if (value === null || typeof value !== 'object') continue
    const depth = path.length + 1
    if (depth > maxDepth) {
      // Measure how deep it goes (cheaply: along this branch only) so the message can say it.
      deepest = Math.max(deepest, depth + depthBelow(value))
      return ApiError.invalid(
        `The JSON body is nested too deeply: ${deepest} levels of objects and arrays, more than the ${maxDepth} this API accepts.`,
        null,
        'json_too_deep',
      )
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] })
      continue
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') {
        const parent = formatParam(path)
        return ApiError.invalid(
          `Invalid property name${parent ? ` in '${parent}'` : ''}: '__proto__' is not accepted as a key.`,
          formatParam([...path, key]),
          'invalid_value',
        )
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] })
    }
  }
  return null
}

/** Levels below `value` along its first nested child at each level (enough for the message). */
function depthBelow(value: object): number {
  let n = 0
  let current: unknown = value
  for (;;) {
    const children = Array.isArray(current) ? current : Object.values(current as object)
    const next = children.find((c) => c !== null && typeof c === 'object')
    if (next === undefined) return n
    n++
    current = next
  }
}
