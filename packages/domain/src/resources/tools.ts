import { z } from '@hono/zod-openapi'

/** `name`: a-z A-Z 0-9 _ -, at most 64 characters. */
export const FunctionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
  message: "Invalid 'function.name': must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes.",
})

/** A JSON Schema object describing the function's parameters; omitted means no parameters. */
export const FunctionParameters = z.record(z.string(), z.unknown())

export const FunctionObject = z.strictObject({
  name: FunctionName,
  description: z.string().optional(),
  parameters: FunctionParameters.optional(),
  strict: z.boolean().nullable().optional(),
})
export type FunctionObject = z.infer<typeof FunctionObject>

export const FileSearchRankingOptions = z.strictObject({
  ranker: z.enum(['auto', 'default_2024_08_21']).optional(),
  score_threshold: z.number().min(0).max(1),
})

export const CodeInterpreterTool = z.strictObject({ type: z.literal('code_interpreter') })
export const FileSearchTool = z.strictObject({
  type: z.literal('file_search'),
  file_search: z
    .strictObject({
      max_num_results: z.number().int().min(1).max(50).optional(),
      ranking_options: FileSearchRankingOptions.optional(),
    })
    .optional(),
})
export const FunctionTool = z.strictObject({ type: z.literal('function'), function: FunctionObject })
export type FunctionTool = z.infer<typeof FunctionTool>

/** One of the three Assistants tools. Only `function` tools reach the model (see README). */
export const AssistantTool = z
  .discriminatedUnion('type', [CodeInterpreterTool, FileSearchTool, FunctionTool])
  .openapi('AssistantTool')
export type AssistantTool = z.infer<typeof AssistantTool>

export const ToolResources = z.strictObject({
  code_interpreter: z.strictObject({ file_ids: z.array(z.string()).max(20).optional() }).optional(),
  file_search: z
    .strictObject({
      vector_store_ids: z.array(z.string()).max(1).optional(),
      // Create-time helper: accepted and stored as given; vector stores are not built (no file storage).
      vector_stores: z.array(z.record(z.string(), z.unknown())).max(1).optional(),
    })
    .optional(),
})
export type ToolResources = z.infer<typeof ToolResources>

export const ResponseFormatJsonSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  description: z.string().optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullable().optional(),
})

/** `"auto"` | `{type:"text"}` | `{type:"json_object"}` | `{type:"json_schema", json_schema}`. */
export const ResponseFormat = z
  .union([
    z.literal('auto'),
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({ type: z.literal('json_schema'), json_schema: ResponseFormatJsonSchema }),
  ])
  .openapi('AssistantsApiResponseFormatOption')
export type ResponseFormat = z.infer<typeof ResponseFormat>

/** `"none"` | `"auto"` | `"required"` | a named tool. */
export const ToolChoice = z
  .union([
    z.enum(['none', 'auto', 'required']),
    z.strictObject({
      type: z.enum(['function', 'code_interpreter', 'file_search']),
      function: z.strictObject({ name: z.string() }).optional(),
    }),
  ])
  .openapi('AssistantsApiToolChoiceOption')
export type ToolChoice = z.infer<typeof ToolChoice>

export const ReasoningEffort = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'])

export const Temperature = z.number().min(0).max(2)
export const TopP = z.number().min(0).max(1)
