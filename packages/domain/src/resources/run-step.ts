import { z } from '@hono/zod-openapi'
import { listOf } from '../shared.js'
import { RunUsage } from './run.js'

export const FunctionToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string(), output: z.string().nullable() }),
})
export type FunctionToolCall = z.infer<typeof FunctionToolCall>

export const StepDetails = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message_creation'), message_creation: z.object({ message_id: z.string() }) }),
  z.object({ type: z.literal('tool_calls'), tool_calls: z.array(FunctionToolCall) }),
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

export const RunStepListQuery = z.object({
  include: z.array(z.string()).optional(),
})
