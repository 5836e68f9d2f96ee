import { OpenAPIHono, type z } from '@hono/zod-openapi'
import { ErrorResponse } from '@threadwork/domain'
import type { Context } from 'hono'
import type { AppEnv } from '../env.js'
import { toApiError } from '../middleware/validation-error.js'

type HookResult = { success: true } | { success: false; error: z.ZodError; target?: string }

/** Every zod failure becomes one OpenAI-style 400, with the offending value read from the request. */
export async function zodErrorHook(result: HookResult, c: Context<AppEnv>): Promise<void> {
  if (result.success) return
  let input: unknown
  if (result.target === 'json') input = await c.req.json().catch(() => ({}))
  else if (result.target === 'query') input = c.req.queries()
  else if (result.target === 'param') input = c.req.param()
  throw toApiError(result.error, flattenQuery(input, result.target))
}

/** `c.req.queries()` gives arrays; single query values are reported as plain strings. */
function flattenQuery(input: unknown, target?: string): unknown {
  if (target !== 'query' || !input || typeof input !== 'object') return input
  return Object.fromEntries(Object.entries(input as Record<string, string[]>).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
}

/** A resource sub-app with the shared validation hook. */
export const resourceApp = () => new OpenAPIHono<AppEnv>({ defaultHook: zodErrorHook as never })

export const jsonRequest = <S extends z.ZodTypeAny>(schema: S, required = true) => ({
  body: { content: { 'application/json': { schema } }, required },
})

export const jsonResponse = <S extends z.ZodTypeAny>(schema: S, description: string) => ({
  200: { content: { 'application/json': { schema } }, description },
})

/**
 * A 409 in OpenAI's error body, for the operations that can answer one; the errors every operation
 * can give are added to the whole document (openapi-document.ts).
 */
export const conflictResponse = (description: string) => ({
  409: { content: { 'application/json': { schema: ErrorResponse } }, description },
})
