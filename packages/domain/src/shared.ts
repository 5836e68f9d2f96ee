import { z } from '@hono/zod-openapi'

/** Integer Unix seconds. */
export const UnixSeconds = z.number().int()

const METADATA_MAX_PAIRS = 16
const METADATA_KEY_MAX = 64
const METADATA_VALUE_MAX = 512

/**
 * Up to 16 string pairs, keys ≤ 64 and values ≤ 512 characters. Violations carry OpenAI's exact
 * message, param and code (captured texts in research/assistants-v2-surface.md §8), which the
 * API's zod error renderer passes through.
 */
export const Metadata = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const keys = Object.keys(value)
    if (keys.length > METADATA_MAX_PAIRS) {
      ctx.addIssue({
        code: 'custom',
        message: `Invalid 'metadata': too many properties. Expected an object with at most ${METADATA_MAX_PAIRS} properties, but got an object with ${keys.length} properties instead.`,
        params: { openai: { code: 'object_above_max_properties' } },
      })
      return
    }
    for (const key of keys) {
      const v = value[key]
      if (key.length > METADATA_KEY_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Invalid property name in 'metadata': '${key}' is too long. Expected a string with maximum length ${METADATA_KEY_MAX}, but got a string with length ${key.length} instead.`,
          params: { openai: { code: 'property_name_above_max_length' } },
        })
      } else if (typeof v !== 'string') {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Invalid type for 'metadata.${key}': expected a string, but got ${describeJsonType(v)} instead.`,
          params: { openai: { code: 'invalid_type' } },
        })
      } else if (v.length > METADATA_VALUE_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Invalid 'metadata.${key}': string too long. Expected a string with maximum length ${METADATA_VALUE_MAX}, but got a string with length ${v.length} instead.`,
          params: { openai: { code: 'string_above_max_length' } },
        })
      }
    }
  })
  .transform((value) => value as Record<string, string>)
  .openapi('Metadata', { description: 'Up to 16 key-value pairs; keys ≤ 64 chars, values ≤ 512 chars.' })
export type Metadata = z.infer<typeof Metadata>

/** How OpenAI's validator names a JSON value's type in error messages. */
export function describeJsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal'
  if (typeof v === 'boolean') return 'a boolean'
  if (typeof v === 'string') return 'a string'
  if (typeof v === 'object') return 'an object'
  return typeof v
}

/** `{limit 1–100 default 20, order asc|desc default desc, after?, before?}` (style §9). */
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
})
export type ListQuery = z.infer<typeof ListQuery>

/** OpenAI's list envelope. `first_id`/`last_id` are null on an empty page, as the real API answers. */
export const listOf = <T extends z.ZodTypeAny>(item: T) =>
  z.object({
    object: z.literal('list'),
    data: z.array(item),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })

export interface ListPage<T> {
  object: 'list'
  data: T[]
  first_id: string | null
  last_id: string | null
  has_more: boolean
}

export const deletedOf = <O extends string>(object: O) =>
  z.object({ id: z.string(), object: z.literal(object), deleted: z.boolean() })
