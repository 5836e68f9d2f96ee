import { z } from '@hono/zod-openapi'
import { Metadata, deletedOf } from '../shared.js'
import { MessageCreateParams } from './message.js'
import { ToolResources, ToolResourcesCreate } from './tools.js'

export const Thread = z
  .object({
    id: z.string(),
    object: z.literal('thread'),
    created_at: z.number().int(),
    tool_resources: ToolResources.nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
  })
  .openapi('ThreadObject')
export type Thread = z.infer<typeof Thread>

/** Messages a thread can be created with (OpenAI's limit on `messages`). */
export const MAX_THREAD_CREATE_MESSAGES = 32

export const ThreadCreateParams = z
  .strictObject({
    // OpenAI creates a thread with at most 32 messages (400 `array too long`; clients add the rest with
    // messages.create), on threads.create and createAndRun's `thread` alike.
    messages: z.array(MessageCreateParams).max(MAX_THREAD_CREATE_MESSAGES).optional(),
    // Only create takes the `vector_stores` helper (research/assistants-v2-surface.md §4).
    tool_resources: ToolResourcesCreate.nullable().optional(),
    metadata: Metadata.nullable().optional(),
  })
  .openapi('CreateThreadRequest')
export type ThreadCreateParams = z.infer<typeof ThreadCreateParams>

export const ThreadUpdateParams = z
  .strictObject({ tool_resources: ToolResources.nullable().optional(), metadata: Metadata.nullable().optional() })
  .openapi('ModifyThreadRequest')
export type ThreadUpdateParams = z.infer<typeof ThreadUpdateParams>

export const ThreadDeleted = deletedOf('thread.deleted').openapi('DeleteThreadResponse')
export type ThreadDeleted = z.infer<typeof ThreadDeleted>
