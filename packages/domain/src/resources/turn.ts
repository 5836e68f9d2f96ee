import { z } from '@hono/zod-openapi'
import { newId } from '../ids.js'
import { Metadata, listOf } from '../shared.js'
import { Attachment, MessageContentPartParam } from './message.js'
import { RunCreateParams, RunLastError } from './run.js'
import { ToolResources } from './tools.js'
import { webhookUrlProblem } from './webhook-endpoint.js'

/** A turn follows its run's status once started; before that it is `queued` (or `cancelled`). */
export const TurnStatus = z.enum(['queued', 'in_progress', 'requires_action', 'completed', 'failed', 'cancelled', 'expired', 'incomplete'])
export type TurnStatus = z.infer<typeof TurnStatus>
export const TERMINAL_TURN_STATUSES = ['completed', 'failed', 'cancelled', 'expired', 'incomplete'] as const satisfies readonly TurnStatus[]

/**
 * Threadwork's extension: one user message plus the run that answers it, accepted at any time
 * and run strictly in arrival order per thread. `message_id` and `run_id` are fixed at accept time;
 * the message and the run exist once the turn starts.
 */
export const Turn = z
  .object({
    id: z.string(),
    object: z.literal('thread.turn'),
    thread_id: z.string(),
    assistant_id: z.string(),
    status: TurnStatus,
    message_id: z.string(),
    run_id: z.string(),
    created_at: z.number().int(),
    started_at: z.number().int().nullable(),
    completed_at: z.number().int().nullable(),
    last_error: RunLastError.nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    callback_url: z.string().nullable(),
  })
  .openapi('TurnObject')
export type Turn = z.infer<typeof Turn>

/**
 * A turn as it is accepted: `queued`, with fresh `msg_`/`run_` ids for the message and run it will
 * start (fixed now, so the caller can poll them), not yet started. `createdAt` in Unix seconds.
 */
export function newTurn(fields: {
  id: string
  threadId: string
  assistantId: string
  createdAt: number
  metadata?: Record<string, string>
  callbackUrl?: string | null
}): Turn {
  return {
    id: fields.id,
    object: 'thread.turn',
    thread_id: fields.threadId,
    assistant_id: fields.assistantId,
    status: 'queued',
    message_id: newId('msg'),
    run_id: newId('run'),
    created_at: fields.createdAt,
    started_at: null,
    completed_at: null,
    last_error: null,
    metadata: fields.metadata ?? {},
    callback_url: fields.callbackUrl ?? null,
  }
}

/** The run settings a turn may override: the same fields, limits and meaning as on create-run. */
export const TurnRunSettings = RunCreateParams.pick({
  model: true,
  reasoning_effort: true,
  instructions: true,
  additional_instructions: true,
  tools: true,
  temperature: true,
  top_p: true,
  max_prompt_tokens: true,
  max_completion_tokens: true,
  truncation_strategy: true,
  tool_choice: true,
  parallel_tool_calls: true,
  response_format: true,
  metadata: true,
})
export type TurnRunSettings = z.infer<typeof TurnRunSettings>

/** The same shape check as a webhook endpoint's `url` (http(s), a host, no credentials, ≤ 2048 characters), naming `callback_url`. */
const CallbackUrl = z.string().superRefine((value, ctx) => {
  const problem = webhookUrlProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: `Invalid 'callback_url': ${problem}.`, params: { openai: { code: 'invalid_url' } } })
})

const turnFields = {
  assistant_id: z.string().min(1),
  content: z.union([z.string(), z.array(MessageContentPartParam).min(1)]),
  attachments: z.array(Attachment).nullable().optional(),
  metadata: Metadata.nullable().optional(),
  callback_url: CallbackUrl.nullable().optional(),
  run: TurnRunSettings.optional(),
}

export const TurnCreateParams = z.strictObject(turnFields).openapi('CreateTurnRequest')
export type TurnCreateParams = z.infer<typeof TurnCreateParams>

export const ThreadTurnCreateParams = z
  .strictObject({
    ...turnFields,
    thread: z.strictObject({ metadata: Metadata.nullable().optional(), tool_resources: ToolResources.nullable().optional() }).optional(),
  })
  .openapi('CreateThreadTurnRequest')
export type ThreadTurnCreateParams = z.infer<typeof ThreadTurnCreateParams>

export const TurnList = listOf(Turn).openapi('ListTurnsResponse')
