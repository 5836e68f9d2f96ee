import { z } from '@hono/zod-openapi'
import { Metadata, listOf } from '../shared.js'
import { MessageCreateParams } from './message.js'
import { ThreadCreateParams } from './thread.js'
import { AssistantTool, ReasoningEffort, ResponseFormat, Temperature, ToolChoice, ToolResources, TopP } from './tools.js'

export const RunStatus = z.enum([
  'queued',
  'in_progress',
  'requires_action',
  'cancelling',
  'cancelled',
  'failed',
  'completed',
  'incomplete',
  'expired',
])
export type RunStatus = z.infer<typeof RunStatus>

export const TruncationStrategy = z.strictObject({
  type: z.enum(['auto', 'last_messages']),
  last_messages: z.number().int().min(1).nullable().optional(),
})
export type TruncationStrategy = z.infer<typeof TruncationStrategy>

export const RunUsage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
})
export type RunUsage = z.infer<typeof RunUsage>

export const RequiredActionToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
})
export type RequiredActionToolCall = z.infer<typeof RequiredActionToolCall>

export const RunLastError = z.object({
  code: z.enum(['server_error', 'rate_limit_exceeded', 'invalid_prompt']),
  message: z.string(),
})
export type RunLastError = z.infer<typeof RunLastError>

export const Run = z
  .object({
    id: z.string(),
    object: z.literal('thread.run'),
    created_at: z.number().int(),
    thread_id: z.string(),
    assistant_id: z.string(),
    status: RunStatus,
    required_action: z
      .object({
        type: z.literal('submit_tool_outputs'),
        submit_tool_outputs: z.object({ tool_calls: z.array(RequiredActionToolCall) }),
      })
      .nullable(),
    last_error: RunLastError.nullable(),
    expires_at: z.number().int().nullable(),
    started_at: z.number().int().nullable(),
    cancelled_at: z.number().int().nullable(),
    failed_at: z.number().int().nullable(),
    completed_at: z.number().int().nullable(),
    incomplete_details: z.object({ reason: z.enum(['max_completion_tokens', 'max_prompt_tokens']) }).nullable(),
    model: z.string(),
    instructions: z.string(),
    tools: z.array(AssistantTool),
    metadata: z.record(z.string(), z.string()).nullable(),
    usage: RunUsage.nullable(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    max_prompt_tokens: z.number().int().nullable(),
    max_completion_tokens: z.number().int().nullable(),
    truncation_strategy: z.object({ type: z.enum(['auto', 'last_messages']), last_messages: z.number().int().nullable() }),
    tool_choice: ToolChoice,
    parallel_tool_calls: z.boolean(),
    response_format: ResponseFormat,
    tool_resources: ToolResources.nullable().optional(),
  })
  .openapi('RunObject')
export type Run = z.infer<typeof Run>

const runOverrides = {
  model: z.string().min(1).nullable().optional(),
  instructions: z.string().nullable().optional(),
  tools: z.array(AssistantTool).max(20).nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: Temperature.nullable().optional(),
  top_p: TopP.nullable().optional(),
  stream: z.boolean().nullable().optional(),
  max_prompt_tokens: z.number().int().min(256).nullable().optional(),
  max_completion_tokens: z.number().int().min(256).nullable().optional(),
  truncation_strategy: TruncationStrategy.nullable().optional(),
  tool_choice: ToolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormat.nullable().optional(),
}

export const RunCreateParams = z
  .strictObject({
    assistant_id: z.string().min(1),
    reasoning_effort: ReasoningEffort.nullable().optional(),
    additional_instructions: z.string().nullable().optional(),
    additional_messages: z.array(MessageCreateParams).nullable().optional(),
    ...runOverrides,
  })
  .openapi('CreateRunRequest')
export type RunCreateParams = z.infer<typeof RunCreateParams>

export const ThreadCreateAndRunParams = z
  .strictObject({
    assistant_id: z.string().min(1),
    thread: ThreadCreateParams.optional(),
    tool_resources: ToolResources.nullable().optional(),
    ...runOverrides,
  })
  .openapi('CreateThreadAndRunRequest')
export type ThreadCreateAndRunParams = z.infer<typeof ThreadCreateAndRunParams>

export const RunUpdateParams = z.strictObject({ metadata: Metadata.nullable().optional() }).openapi('ModifyRunRequest')
export type RunUpdateParams = z.infer<typeof RunUpdateParams>

export const ToolOutput = z.strictObject({ tool_call_id: z.string().optional(), output: z.string().optional() })
export const RunSubmitToolOutputsParams = z
  .strictObject({ tool_outputs: z.array(ToolOutput), stream: z.boolean().nullable().optional() })
  .openapi('SubmitToolOutputsRunRequest')
export type RunSubmitToolOutputsParams = z.infer<typeof RunSubmitToolOutputsParams>

export const RunList = listOf(Run).openapi('ListRunsResponse')

/** Statuses in which a run holds its thread (no new messages, no second run). */
export const ACTIVE_RUN_STATUSES = ['queued', 'in_progress', 'requires_action', 'cancelling'] as const satisfies readonly RunStatus[]
export const TERMINAL_RUN_STATUSES = ['completed', 'incomplete', 'failed', 'cancelled', 'expired'] as const satisfies readonly RunStatus[]
export const isTerminalRunStatus = (s: RunStatus): boolean => (TERMINAL_RUN_STATUSES as readonly RunStatus[]).includes(s)
