import { z } from 'zod'

/** A vector store file's `attributes`: ≤ 16 keys, values string (≤ 512), number or boolean. */
export type Attributes = Record<string, string | number | boolean>

const Scalar = z.union([z.string(), z.number(), z.boolean()])

/** OpenAI's `ComparisonFilter` (files-vector-stores.yaml): compare one attribute with a value. */
export const ComparisonFilter = z
  .strictObject({
    type: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin']),
    key: z.string(),
    value: z.union([Scalar, z.array(z.union([z.string(), z.number()]))]),
  })
  .refine((f) => (f.type === 'in' || f.type === 'nin') === Array.isArray(f.value), {
    message: "'in' and 'nin' compare with an array of values; the other operators with a string, number or boolean",
    path: ['value'],
  })
export type ComparisonFilter = z.infer<typeof ComparisonFilter>

/** OpenAI's `CompoundFilter`: `and`/`or` over comparison and compound filters. */
export interface CompoundFilter {
  type: 'and' | 'or'
  filters: (ComparisonFilter | CompoundFilter)[]
}
export const CompoundFilter: z.ZodType<CompoundFilter> = z.strictObject({
  type: z.enum(['and', 'or']),
  filters: z.array(z.lazy(() => AttributeFilter)),
})

/** The `filters` of a vector store search or a file_search tool. */
export type AttributeFilter = ComparisonFilter | CompoundFilter
export const AttributeFilter: z.ZodType<AttributeFilter> = z.union([ComparisonFilter, CompoundFilter])

/** Deepest nesting accepted: a filter is user input evaluated recursively. */
export const MAX_FILTER_DEPTH = 16

/** A filter that cannot be used (bad shape or too deep); the API answers it with a 400 on `filters`. */
export class InvalidFilterError extends Error {
  override name = 'InvalidFilterError'
}

/**
 * Validates untrusted input as an {@link AttributeFilter}. Throws InvalidFilterError naming the
 * first problem and where it is (`filters.filters[0].value: …`).
 */
export function parseAttributeFilter(input: unknown): AttributeFilter {
  if (depthOf(input) > MAX_FILTER_DEPTH) throw new InvalidFilterError(`filters: nested deeper than ${MAX_FILTER_DEPTH} levels`)
  return parseAt(input, 'filters')
}

// Walked by hand rather than with the recursive union: a union's error is only "Invalid input"
// at the top, and the caller's 400 should say which nested filter is wrong.
function parseAt(input: unknown, path: string): AttributeFilter {
  const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined
  if (type === 'and' || type === 'or') {
    const shape = z.strictObject({ type: z.enum(['and', 'or']), filters: z.array(z.unknown()) }).safeParse(input)
    if (!shape.success) throw issueError(shape.error, path)
    return { type, filters: shape.data.filters.map((f, i) => parseAt(f, `${path}.filters[${i}]`)) }
  }
  const parsed = ComparisonFilter.safeParse(input)
  if (!parsed.success) throw issueError(parsed.error, path)
  return parsed.data
}

function issueError(error: z.ZodError, path: string): InvalidFilterError {
  const issue = error.issues[0]!
  const where = path + issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
  return new InvalidFilterError(`${where}: ${issue.message}`)
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_FILTER_DEPTH) return depth
  if (typeof value !== 'object' || value === null) return depth
  const filters = (value as { filters?: unknown }).filters
  if (!Array.isArray(filters)) return depth + 1
  let max = depth + 1
  for (const f of filters) max = Math.max(max, depthOf(f, depth + 1))
  return max
}

/**
 * Whether a file's attributes pass the filter. Evaluated here, in JavaScript, rather than
 * translated to the index's SQL: keys and values never reach a query string, so no quoting bug
 * can turn an attribute into SQL (the index then filters by the matching file ids, which it
 * generates and checks itself).
 *
 * Semantics where OpenAI's docs are silent: `eq`/`in` compare type and value (`"1"` ≠ `1`);
 * `gt`/`gte`/`lt`/`lte` compare numbers with numbers and strings with strings (ISO dates
 * order correctly), any other pair is false; a missing key fails every operator but `ne` and
 * `nin`; `and` of nothing is true, `or` of nothing false.
 */
export function matchesFilter(attributes: Attributes | null | undefined, filter: AttributeFilter): boolean {
  if (filter.type === 'and' || filter.type === 'or') {
    const compound = filter as CompoundFilter
    return compound.type === 'and' ? compound.filters.every((f) => matchesFilter(attributes, f)) : compound.filters.some((f) => matchesFilter(attributes, f))
  }
  return compare(attributes, filter as ComparisonFilter)
}

function compare(attributes: Attributes | null | undefined, filter: ComparisonFilter): boolean {
  const present = attributes != null && Object.hasOwn(attributes, filter.key)
  const actual = present ? attributes[filter.key] : undefined
  const value = filter.value
  switch (filter.type) {
    case 'eq':
      return present && actual === value
    case 'ne':
      return !present || actual !== value
    case 'in':
      return present && Array.isArray(value) && value.some((v) => v === actual)
    case 'nin':
      return !present || !Array.isArray(value) || !value.some((v) => v === actual)
    default: {
      if (!present || Array.isArray(value)) return false
      const comparable = (typeof actual === 'number' && typeof value === 'number') || (typeof actual === 'string' && typeof value === 'string')
      if (!comparable) return false
      const a = actual as number | string
      const b = value as number | string
      if (filter.type === 'gt') return a > b
      if (filter.type === 'gte') return a >= b
      if (filter.type === 'lt') return a < b
      return a <= b
    }
  }
}
