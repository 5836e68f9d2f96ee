import { z } from '@hono/zod-openapi'
import { listOf } from '../shared.js'
import { RunUsage } from './run.js'

export const FunctionToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string(), output: z.string().nullable() }),
})
export type FunctionToolCall = z.infer<typeof FunctionToolCall>

/** One output of a code_interpreter call: what the code printed, or an image it displayed (a File). */
export const CodeInterpreterOutput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('logs'), logs: z.string() }),
  z.object({ type: z.literal('image'), image: z.object({ file_id: z.string() }) }),
])
export type CodeInterpreterOutput = z.infer<typeof CodeInterpreterOutput>

export const CodeInterpreterToolCall = z.object({
  id: z.string(),
  type: z.literal('code_interpreter'),
  code_interpreter: z.object({ input: z.string(), outputs: z.array(CodeInterpreterOutput) }),
})
export type CodeInterpreterToolCall = z.infer<typeof CodeInterpreterToolCall>

export const FileSearchRankingOptionsUsed = z.object({ ranker: z.enum(['auto', 'default_2024_08_21']), score_threshold: z.number() })

/**
 * One chunk a file_search call found. `content` is stored always but shown only when the request
 * asks for it with `include[]=step_details.tool_calls[*].file_search.results[*].content` (OpenAI's rule).
 */
export const FileSearchResult = z.object({
  file_id: z.string(),
  file_name: z.string(),
  score: z.number(),
  content: z.array(z.object({ type: z.literal('text'), text: z.string() })).optional(),
})
export type FileSearchResult = z.infer<typeof FileSearchResult>

export const FileSearchToolCall = z.object({
  id: z.string(),
  type: z.literal('file_search'),
  file_search: z.object({ ranking_options: FileSearchRankingOptionsUsed.optional(), results: z.array(FileSearchResult).optional() }),
})
export type FileSearchToolCall = z.infer<typeof FileSearchToolCall>

/** A call in a `tool_calls` step: openai-node's `ToolCall` (code_interpreter | file_search | function). */
export const ToolCall = z.discriminatedUnion('type', [CodeInterpreterToolCall, FileSearchToolCall, FunctionToolCall])
export type ToolCall = z.infer<typeof ToolCall>

export const StepDetails = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message_creation'), message_creation: z.object({ message_id: z.string() }) }),
  z.object({ type: z.literal('tool_calls'), tool_calls: z.array(ToolCall) }),
])
export type StepDetails = z.infer<typeof StepDetails>

export const RunStepStatus = z.enum(['in_progress', 'cancelled', 'failed', 'completed', 'expired'])
export type RunStepStatus = z.infer<typeof RunStepStatus>

export const RunStep = z
  .object({
    id: z.string(),
    object: z.literal('thread.run.step'),
    created_at: z.number().int(),
    assistant_id: z.string(),
    thread_id: z.string(),
    run_id: z.string(),
    type: z.enum(['message_creation', 'tool_calls']),
    status: RunStepStatus,
    step_details: StepDetails,
    last_error: z.object({ code: z.enum(['server_error', 'rate_limit_exceeded']), message: z.string() }).nullable(),
    // The official streaming examples carry `expires_at` on steps while the schema names `expired_at`;
    // SDK captures show both, so both are emitted (research/assistants-v2-surface.md §5.6).
    expired_at: z.number().int().nullable(),
    expires_at: z.number().int().nullable().optional(),
    cancelled_at: z.number().int().nullable(),
    failed_at: z.number().int().nullable(),
    completed_at: z.number().int().nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    usage: RunUsage.nullable(),
  })
  .openapi('RunStepObject')
export type RunStep = z.infer<typeof RunStep>

export const RunStepList = listOf(RunStep).openapi('ListRunStepsResponse')

/** The one value `include[]` takes (run create, run steps list and get): file_search result text. */
export const FILE_SEARCH_CONTENT_INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content'

/**
 * The `include[]` query parameter: repeated (`include[]=a&include[]=b`) or single; any value but
 * {@link FILE_SEARCH_CONTENT_INCLUDE} is a 400 naming it (research/assistants-v2-surface.md §2).
 */
export const IncludeQuery = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .superRefine((values, ctx) => {
    for (const value of values) {
      if (value !== FILE_SEARCH_CONTENT_INCLUDE) {
        ctx.addIssue({
          code: 'custom',
          message: `Invalid value: '${value}'. Supported values are: '${FILE_SEARCH_CONTENT_INCLUDE}'.`,
          params: { openai: { code: 'invalid_value' } },
        })
        return
      }
    }
  })
  .optional()

/** Whether a request's `include[]` asks for file_search result content. */
export const includesFileSearchContent = (include: readonly string[] | undefined): boolean => !!include?.includes(FILE_SEARCH_CONTENT_INCLUDE)

/**
 * The step as a request sees it: file_search `results[*].content` dropped unless asked for with
 * `include[]` (the stored step keeps it, so a later request may ask).
 */
export function stepForInclude(step: RunStep, withContent: boolean): RunStep {
  if (withContent || step.step_details.type !== 'tool_calls') return step
  if (!step.step_details.tool_calls.some((c) => c.type === 'file_search')) return step
  return {
    ...step,
    step_details: {
      type: 'tool_calls',
      tool_calls: step.step_details.tool_calls.map((c) =>
        c.type === 'file_search' && c.file_search.results
          ? { ...c, file_search: { ...c.file_search, results: c.file_search.results.map(({ content: _c, ...r }) => r) } }
          : c,
      ),
    },
  }
}
