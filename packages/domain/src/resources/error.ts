import { z } from '@hono/zod-openapi'

/**
 * OpenAI's error body, as every non-2xx answer carries it (`ApiError.toBody()`): all four keys
 * always present, `param` and `code` null when nothing applies. Documents the error responses in
 * `/openapi.json` (component `Error`).
 */
export const ErrorResponse = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .openapi('Error')
export type ErrorResponse = z.infer<typeof ErrorResponse>
