import { ApiError, describeJsonType } from '@threadwork/domain'
import type { z } from 'zod'

type Issue = z.core.$ZodIssue
type PathKey = PropertyKey

/** `['tools', 0, 'function', 'name']` → `tools[0].function.name`, OpenAI's param notation. */
export function formatParam(path: readonly PathKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out
}

function valueAt(input: unknown, path: readonly PathKey[]): unknown {
  let v = input
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[key as string]
  }
  return v
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`)
/**
 * zod's names for expected types → the JSON names OpenAI's validator uses ("expected a decimal, but
 * got a string instead" is its captured text for a number field such as `temperature`).
 */
const JSON_TYPE_NAMES: Record<string, string> = { int: 'integer', number: 'decimal', record: 'object' }
/**
 * zod coerces query strings with `Number()`, so an unparsable one arrives as NaN; the API's only
 * numeric query parameter (`limit`) is an integer, which zod's issue cannot tell.
 */
const expectedName = (issue: Extract<Issue, { code: 'invalid_type' }>) =>
  (issue as { received?: string }).received === 'NaN' ? 'integer' : (JSON_TYPE_NAMES[issue.expected] ?? issue.expected)
const missing = (param: string) => ApiError.invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter')
const quoteList = (values: readonly unknown[]) => {
  const q = values.map((v) => `'${String(v)}'`)
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q.at(-1)}`
}

/**
 * Picks the branch of a union the client most plausibly meant, so the error names the real fault:
 * the one whose fault lies deepest inside the value (it matched furthest: a `response_format`
 * json_schema without `name` is that, not "expected 'auto'" nor "type must be 'text'"), else one
 * that did not refuse the value's type outright.
 */
function unionIssue(issue: Extract<Issue, { code: 'invalid_union' }>): Issue | null {
  const branches = (issue.errors ?? []).filter((b) => b.length > 0)
  const deepest = branches.reduce<Issue[] | undefined>((best, b) => (b[0]!.path.length > (best?.[0]?.path.length ?? 0) ? b : best), undefined)
  const meant = deepest ?? branches.find((b) => !(b[0]!.code === 'invalid_type' && b[0]!.path.length === 0))
  const first = meant?.[0]
  return first ? { ...first, path: [...issue.path, ...first.path] } as Issue : null
}

/**
 * Renders the first zod issue as OpenAI's validator would (message templates captured in
 * research/assistants-v2-surface.md §8): one error, with `param` and `code`.
 */
export function toApiError(error: z.ZodError, input: unknown): ApiError {
  let issue = error.issues[0] as Issue | undefined
  for (let depth = 0; issue?.code === 'invalid_union' && depth < 5; depth++) {
    const inner = unionIssue(issue)
    if (!inner) break
    issue = inner
  }
  if (!issue) return ApiError.invalid('Invalid request.')
  const param = formatParam(issue.path)
  const value = valueAt(input, issue.path)
  // Query values arrive as strings ("0"); OpenAI reports them by their numeric reading.
  const isInt = value !== '' && Number.isInteger(Number(value))

  // A blank query value (`?limit=`) is coerced to 0 by zod: it is no number, as 'ten' is not.
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number' && typeof value === 'string' && value.trim() === '')
    return ApiError.invalid(`Invalid type for '${param}': expected an integer, but got a string instead.`, param, 'invalid_type')

  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? ''
      const full = param ? `${param}.${key}` : key
      return ApiError.invalid(`Unknown parameter: '${full}'.`, full, 'unknown_parameter')
    }
    case 'invalid_type':
      if (value === undefined) return missing(param)
      return ApiError.invalid(
        `Invalid type for '${param}': expected ${article(expectedName(issue))}, but got ${describeJsonType(value)} instead.`,
        param,
        'invalid_type',
      )
    case 'too_big':
      if (issue.origin === 'string')
        return ApiError.invalid(
          `Invalid '${param}': string too long. Expected a string with maximum length ${issue.maximum}, but got a string with length ${String(value ?? '').length} instead.`,
          param,
          'string_above_max_length',
        )
      if (issue.origin === 'array')
        return ApiError.invalid(
          `Invalid '${param}': array too long. Expected an array with maximum length ${issue.maximum}, but got an array with length ${Array.isArray(value) ? value.length : '?'} instead.`,
          param,
          'array_above_max_length',
        )
      return ApiError.invalid(
        `Invalid '${param}': ${isInt ? 'integer' : 'decimal'} above maximum value. Expected a value <= ${issue.maximum}, but got ${String(value)} instead.`,
        param,
        isInt ? 'integer_above_max_value' : 'decimal_above_max_value',
      )
    case 'too_small':
      if (issue.origin === 'array' && Number(issue.minimum) === 1)
        return ApiError.invalid(`Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param, 'empty_array')
      if (issue.origin === 'string')
        return ApiError.invalid(
          `Invalid '${param}': string too short. Expected a string with minimum length ${issue.minimum}, but got a string with length ${String(value ?? '').length} instead.`,
          param,
          'string_below_min_length',
        )
      return ApiError.invalid(
        `Invalid '${param}': ${isInt ? 'integer' : 'decimal'} below minimum value. Expected a value >= ${issue.minimum}, but got ${String(value)} instead.`,
        param,
        isInt ? 'integer_below_min_value' : 'decimal_below_min_value',
      )
    case 'invalid_value':
      // zod reports a missing enum or literal as a bad value; OpenAI reports it as missing.
      if (value === undefined) return missing(param)
      // An array or object where one of the listed strings belongs is a wrong type, not a wrong value.
      if (value !== null && typeof value === 'object' && issue.values.every((v) => typeof v === 'string'))
        return ApiError.invalid(`Invalid type for '${param}': expected one of ${quoteList(issue.values)}, but got ${describeJsonType(value)} instead.`, param, 'invalid_type')
      return ApiError.invalid(`Invalid value: '${String(value)}'. Supported values are: ${quoteList(issue.values)}.`, param, 'invalid_value')
    case 'invalid_union':
      if ((issue as { note?: string }).note === 'No matching discriminator' || (issue as { discriminator?: string }).discriminator) {
        const disc = (issue as { discriminator?: string }).discriminator ?? 'type'
        // zod already points the path at the discriminator; older shapes point at the object.
        const path = issue.path.at(-1) === disc ? issue.path : [...issue.path, disc]
        const p = formatParam(path)
        const discriminator = valueAt(input, path)
        if (discriminator === undefined) return missing(p)
        return ApiError.invalid(`Invalid value: '${String(discriminator)}' for '${p}'.`, p, 'invalid_value')
      }
      // A required union (message `content`) that was left out is missing, as for any other field.
      if (value === undefined) return missing(param)
      return ApiError.invalid(`Invalid type for '${param}': got ${describeJsonType(value)}, which matches none of the accepted forms.`, param, 'invalid_type')
    case 'custom': {
      const openai = (issue.params as { openai?: { code?: string } } | undefined)?.openai
      return ApiError.invalid(issue.message, param, openai?.code ?? 'invalid_value')
    }
    case 'invalid_format':
      return ApiError.invalid(`Invalid '${param}': ${issue.format === 'regex' ? issue.message : `expected a valid ${issue.format}`}.`, param, 'invalid_value')
    default:
      return ApiError.invalid(`Invalid '${param}': ${issue.message}.`, param, 'invalid_value')
  }
}
