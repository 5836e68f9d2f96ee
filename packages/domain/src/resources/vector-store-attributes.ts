import { z } from '@hono/zod-openapi'
import { describeJsonType } from '../shared.js'

const MAX_PAIRS = 16
const KEY_MAX = 64
const VALUE_MAX = 512

/**
 * A vector store file's `attributes`: up to 16 pairs, keys ≤ 64 characters, values strings ≤ 512
 * characters, numbers or booleans (VectorStoreFileAttributes in files-vector-stores.yaml). Errors
 * use the same message forms as `metadata`.
 */
export const VectorStoreFileAttributes = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const keys = Object.keys(value)
    if (keys.length > MAX_PAIRS) {
      ctx.addIssue({
        code: 'custom',
        message: `Invalid 'attributes': too many properties. Expected an object with at most ${MAX_PAIRS} properties, but got an object with ${keys.length} properties instead.`,
        params: { openai: { code: 'object_above_max_properties' } },
      })
      return
    }
    for (const key of keys) {
      const v = value[key]
      if (key.length > KEY_MAX)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Invalid property name in 'attributes': '${key}' is too long. Expected a string with maximum length ${KEY_MAX}, but got a string with length ${key.length} instead.`,
          params: { openai: { code: 'property_name_above_max_length' } },
        })
      else if (typeof v === 'string') {
        if (v.length > VALUE_MAX)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `Invalid 'attributes.${key}': string too long. Expected a string with maximum length ${VALUE_MAX}, but got a string with length ${v.length} instead.`,
            params: { openai: { code: 'string_above_max_length' } },
          })
      } else if (!(typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Invalid type for 'attributes.${key}': expected a string, a number or a boolean, but got ${describeJsonType(v)} instead.`,
          params: { openai: { code: 'invalid_type' } },
        })
    }
  })
  .transform((value) => value as Record<string, string | number | boolean>)
  .openapi('VectorStoreFileAttributes', { description: 'Up to 16 pairs; keys ≤ 64 chars; values strings ≤ 512 chars, numbers or booleans.' })
export type VectorStoreFileAttributes = z.infer<typeof VectorStoreFileAttributes>
