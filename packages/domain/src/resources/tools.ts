import { z } from '@hono/zod-openapi'
import { ApiError } from '../errors.js'
import { Metadata } from '../shared.js'
import { ChunkingStrategyParam } from './chunking.js'

/** OpenAI's limit of files in one vector store (the tool_resources helper and attach paths enforce it). */
export const MAX_FILES_PER_VECTOR_STORE = 10_000

/**
 * A function's or a JSON schema's `name`: a-z A-Z 0-9 _ -, at most 64 characters. The message is
 * the part after `Invalid '<param>': ` (validation-error.ts adds that prefix and the period).
 */
const NAME_RULE = { message: 'must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes' }
export const FunctionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, NAME_RULE)

/** A JSON Schema object describing the function's parameters; omitted means no parameters. */
export const FunctionParameters = z.record(z.string(), z.unknown())

export const FunctionObject = z.strictObject({
  name: FunctionName,
  description: z.string().optional(),
  parameters: FunctionParameters.optional(),
  strict: z.boolean().nullable().optional(),
})
export type FunctionObject = z.infer<typeof FunctionObject>

/**
 * The ranker OpenAI stores and echoes when a file_search tool names none: an assistant created with
 * `tools: [{type: "file_search"}]` comes back with
 * `file_search: {ranking_options: {ranker: "default_2024_08_21", score_threshold: 0.0}}` and no
 * `max_num_results` (the seed tutorial's printed assistants; openai-python outputs in the wild), and
 * run steps report the same ranker (users' stream logs: sashirestela/simple-openai#300,
 * Lambdua/openai4j#61). The docs' "auto ranker" is what this resolves to.
 */
export const FILE_SEARCH_DEFAULT_RANKER = 'default_2024_08_21' as const

/** A `ranker` the user gives (`auto` too) is kept; a missing one is filled. */
export const FileSearchRankingOptions = z.strictObject({
  ranker: z.enum(['auto', 'default_2024_08_21']).default(FILE_SEARCH_DEFAULT_RANKER),
  score_threshold: z.number().min(0).max(1),
})

const defaultRankingOptions = () => ({ ranker: FILE_SEARCH_DEFAULT_RANKER, score_threshold: 0 })

export const CodeInterpreterTool = z.strictObject({ type: z.literal('code_interpreter') })
/**
 * The file_search tool, with OpenAI's defaults filled in as OpenAI echoes them (see
 * {@link FILE_SEARCH_DEFAULT_RANKER}): `file_search.ranking_options` always present,
 * `max_num_results` only when given (its default, 20, is applied at search time, not stored).
 * Defaults live here, not in a route, so requests, stored objects written before they existed
 * (storage parses what it reads with this schema) and every echo (assistants, runs, createAndRun,
 * turns, stream events) agree.
 */
export const FileSearchTool = z.strictObject({
  type: z.literal('file_search'),
  file_search: z
    .strictObject({
      max_num_results: z.number().int().min(1).max(50).optional(),
      ranking_options: FileSearchRankingOptions.default(defaultRankingOptions),
    })
    .default(() => ({ ranking_options: defaultRankingOptions() })),
})
export const FunctionTool = z.strictObject({ type: z.literal('function'), function: FunctionObject })
export type FunctionTool = z.infer<typeof FunctionTool>

/** One of the three Assistants tools. Only `function` tools reach the model (see README). */
export const AssistantTool = z
  .discriminatedUnion('type', [CodeInterpreterTool, FileSearchTool, FunctionTool])
  .openapi('AssistantTool')
export type AssistantTool = z.infer<typeof AssistantTool>

/**
 * The create-time helper `tool_resources.file_search.vector_stores[0]`: the API creates that store
 * (its files, chunking, metadata) and stores its id in `vector_store_ids` instead.
 */
export const VectorStoreHelper = z.strictObject({
  file_ids: z.array(z.string().min(1)).max(MAX_FILES_PER_VECTOR_STORE).optional(),
  chunking_strategy: ChunkingStrategyParam.optional(),
  metadata: Metadata.nullable().optional(),
})
export type VectorStoreHelper = z.infer<typeof VectorStoreHelper>

const codeInterpreterResources = z.strictObject({ file_ids: z.array(z.string()).max(20).optional() }).optional()

/** Ids only: what objects carry, and what modify requests accept. One vector store at most (OpenAI's limit). */
export const ToolResources = z.strictObject({
  code_interpreter: codeInterpreterResources,
  file_search: z.strictObject({ vector_store_ids: z.array(z.string()).max(1).optional() }).optional(),
})
export type ToolResources = z.infer<typeof ToolResources>

/**
 * `tool_resources` as OpenAI stores and echoes them: an entry for each built-in tool the object
 * has, empty when none was given — `code_interpreter: {file_ids: []}`, `file_search:
 * {vector_store_ids: []}` — and nothing (no key, no null) for a tool it lacks. What was given is
 * kept as given. Evidence: an assistant created with `tools: [{type: "code_interpreter"}]` and no
 * resources prints `ToolResources(code_interpreter=ToolResourcesCodeInterpreter(file_ids=[]),
 * file_search=None)`, one without tools `ToolResources(code_interpreter=None, file_search=None)`
 * from JSON `{}` (the seed tutorial's assistants, their `to_dict()`); one with `file_search` comes
 * back `{"file_search": {"vector_store_ids": []}}` (OpenAI's retrieve-assistant example, users'
 * printed objects); one given `tools` later by modify gets the same (OpenAI's cookbook,
 * "Assistants API Overview"). Returns `resources` itself when there is nothing to fill.
 */
export function withToolResourceDefaults(
  resources: ToolResources | null,
  tools: { codeInterpreter: boolean; fileSearch: boolean },
): ToolResources | null {
  const fillCode = tools.codeInterpreter && !resources?.code_interpreter
  const fillSearch = tools.fileSearch && !resources?.file_search
  if (!fillCode && !fillSearch) return resources
  const code_interpreter = resources?.code_interpreter ?? (fillCode ? { file_ids: [] } : undefined)
  const file_search = resources?.file_search ?? (fillSearch ? { vector_store_ids: [] } : undefined)
  return { ...(code_interpreter ? { code_interpreter } : {}), ...(file_search ? { file_search } : {}) }
}

/** {@link withToolResourceDefaults} for an object with these `tools` (an assistant). */
export const toolResourcesForTools = (resources: ToolResources | null, tools: readonly { type: string }[]): ToolResources | null =>
  withToolResourceDefaults(resources, {
    codeInterpreter: tools.some((t) => t.type === 'code_interpreter'),
    fileSearch: tools.some((t) => t.type === 'file_search'),
  })

/**
 * A thread's `tool_resources` once a run is made on it: `code_interpreter: {file_ids: []}` added
 * when absent, whatever the run's tools. OpenAI's thread made by createAndRun streams
 * `thread.created` with `{"code_interpreter": {"file_ids": []}}` (users' recorded streams, May and
 * June 2024, a run with `tools: []`), and the seed tutorial's thread, `{}` when created, prints
 * `code_interpreter=ToolResourcesCodeInterpreter(file_ids=[])` when retrieved after its runs.
 * Storage applies the same rule, in Lua, where it creates a run on a stored thread
 * (createRun-5.lua, startTurn-7.lua; their test holds them to this function).
 */
export const threadToolResourcesForRun = (resources: ToolResources | null | undefined): ToolResources =>
  withToolResourceDefaults(resources ?? {}, { codeInterpreter: true, fileSearch: false }) ?? {}

/** Create requests (assistant, thread, createAndRun): ids or the `vector_stores` helper, not both. */
export const ToolResourcesCreate = z.strictObject({
  code_interpreter: codeInterpreterResources,
  file_search: z
    .strictObject({
      vector_store_ids: z.array(z.string()).max(1).optional(),
      vector_stores: z.array(VectorStoreHelper).max(1).optional(),
    })
    .superRefine((fs, ctx) => {
      if (fs.vector_store_ids !== undefined && fs.vector_stores !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['vector_stores'],
          message: "Invalid 'tool_resources.file_search': give either 'vector_store_ids' or 'vector_stores', not both (one vector store per object).",
          params: { openai: { code: 'invalid_value' } },
        })
    })
    .optional(),
})
export type ToolResourcesCreate = z.infer<typeof ToolResourcesCreate>

export const ResponseFormatJsonSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, NAME_RULE),
  description: z.string().optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullable().optional(),
})

/** `"auto"` | `{type:"text"}` | `{type:"json_object"}` | `{type:"json_schema", json_schema}`. */
export const ResponseFormat = z
  .union([
    z.literal('auto'),
    // Discriminated by `type`, so a bad object names its own fault (`{type:"json_schema"}` without
    // `json_schema` is that missing field, not "Supported values are: 'text'" from another branch).
    z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('text') }),
      z.strictObject({ type: z.literal('json_object') }),
      z.strictObject({ type: z.literal('json_schema'), json_schema: ResponseFormatJsonSchema }),
    ]),
  ])
  .openapi('AssistantsApiResponseFormatOption')
export type ResponseFormat = z.infer<typeof ResponseFormat>

/**
 * `"none"` | `"auto"` | `"required"` | a named tool. `function.name` is required when the type is
 * `function` (research/assistants-v2-surface.md §2); whether the named tool is among the run's
 * tools is checked against them by {@link checkToolChoice}.
 */
export const ToolChoice = z
  .union([
    z.enum(['none', 'auto', 'required']),
    z
      .strictObject({
        type: z.enum(['function', 'code_interpreter', 'file_search']),
        function: z.strictObject({ name: z.string() }).optional(),
      })
      .superRefine((choice, ctx) => {
        if (choice.type === 'function' && !choice.function) {
          ctx.addIssue({
            code: 'custom',
            message: "Invalid 'tool_choice': 'function.name' is required when 'type' is 'function'.",
            params: { openai: { code: 'invalid_value' } },
          })
        }
      }),
  ])
  .openapi('AssistantsApiToolChoiceOption')
export type ToolChoice = z.infer<typeof ToolChoice>

/**
 * Refuses a `tool_choice` that names a tool the run does not have: a function by a name not among
 * its function tools, or `code_interpreter`/`file_search` without that tool. Throws ApiError 400
 * with `param` (default `tool_choice`); OpenAI's rule, issue 12 item 3.
 */
export function checkToolChoice(choice: ToolChoice | null | undefined, tools: readonly AssistantTool[], param = 'tool_choice'): void {
  if (!choice || typeof choice === 'string') return
  if (choice.type === 'function') {
    const name = choice.function?.name ?? ''
    if (!tools.some((t) => t.type === 'function' && t.function.name === name)) {
      throw ApiError.invalid(`Invalid '${param}': the function '${name}' is not among the run's tools.`, param, 'invalid_value')
    }
    return
  }
  if (!tools.some((t) => t.type === choice.type)) {
    throw ApiError.invalid(`Invalid '${param}': the run has no '${choice.type}' tool to force.`, param, 'invalid_value')
  }
}

export const ReasoningEffort = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'])

export const Temperature = z.number().min(0).max(2)
export const TopP = z.number().min(0).max(1)
