import { z } from '@hono/zod-openapi'
import { Metadata, deletedOf, listOf } from '../shared.js'

const ImageDetail = z.enum(['auto', 'low', 'high'])

export const TextAnnotation = z.union([
  z.object({
    type: z.literal('file_citation'),
    text: z.string(),
    file_citation: z.object({ file_id: z.string() }),
    start_index: z.number().int(),
    end_index: z.number().int(),
  }),
  z.object({
    type: z.literal('file_path'),
    text: z.string(),
    file_path: z.object({ file_id: z.string() }),
    start_index: z.number().int(),
    end_index: z.number().int(),
  }),
])

/** A content part of a stored message. */
export const MessageContent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.object({ value: z.string(), annotations: z.array(TextAnnotation) }) }),
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string(), detail: ImageDetail.optional() }) }),
  z.object({ type: z.literal('image_file'), image_file: z.object({ file_id: z.string(), detail: ImageDetail.optional() }) }),
  z.object({ type: z.literal('refusal'), refusal: z.string() }),
])
export type MessageContent = z.infer<typeof MessageContent>

/** A content part as a client sends it. */
export const MessageContentPartParam = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({
    type: z.literal('image_url'),
    image_url: z.strictObject({ url: z.string().url(), detail: ImageDetail.optional() }),
  }),
  z.strictObject({
    type: z.literal('image_file'),
    image_file: z.strictObject({ file_id: z.string(), detail: ImageDetail.optional() }),
  }),
])
export type MessageContentPartParam = z.infer<typeof MessageContentPartParam>

export const Attachment = z.strictObject({
  file_id: z.string(),
  tools: z
    .array(z.discriminatedUnion('type', [z.strictObject({ type: z.literal('code_interpreter') }), z.strictObject({ type: z.literal('file_search') })]))
    .optional(),
})
export type Attachment = z.infer<typeof Attachment>

export const MessageStatus = z.enum(['in_progress', 'incomplete', 'completed'])
export type MessageStatus = z.infer<typeof MessageStatus>

export const Message = z
  .object({
    id: z.string(),
    object: z.literal('thread.message'),
    created_at: z.number().int(),
    thread_id: z.string(),
    status: MessageStatus,
    incomplete_details: z
      .object({ reason: z.enum(['content_filter', 'max_tokens', 'run_cancelled', 'run_expired', 'run_failed']) })
      .nullable(),
    completed_at: z.number().int().nullable(),
    incomplete_at: z.number().int().nullable(),
    role: z.enum(['user', 'assistant']),
    content: z.array(MessageContent),
    assistant_id: z.string().nullable(),
    run_id: z.string().nullable(),
    attachments: z.array(Attachment).nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
  })
  .openapi('MessageObject')
export type Message = z.infer<typeof Message>

export const MessageCreateParams = z
  .strictObject({
    role: z.enum(['user', 'assistant']),
    content: z.union([z.string(), z.array(MessageContentPartParam).min(1)]),
    attachments: z.array(Attachment).nullable().optional(),
    metadata: Metadata.nullable().optional(),
  })
  .openapi('CreateMessageRequest')
export type MessageCreateParams = z.infer<typeof MessageCreateParams>

export const MessageUpdateParams = z.strictObject({ metadata: Metadata.nullable().optional() }).openapi('ModifyMessageRequest')
export type MessageUpdateParams = z.infer<typeof MessageUpdateParams>

export const MessageDeleted = deletedOf('thread.message.deleted').openapi('DeleteMessageResponse')
export type MessageDeleted = z.infer<typeof MessageDeleted>
export const MessageList = listOf(Message).openapi('ListMessagesResponse')

/** Turns a client's `content` (string or parts) into stored content parts. */
export function toMessageContent(content: MessageCreateParams['content']): MessageContent[] {
  if (typeof content === 'string') return [{ type: 'text', text: { value: content, annotations: [] } }]
  return content.map((part): MessageContent => {
    switch (part.type) {
      case 'text':
        return { type: 'text', text: { value: part.text, annotations: [] } }
      case 'image_url':
        return { type: 'image_url', image_url: { url: part.image_url.url, detail: part.image_url.detail ?? 'auto' } }
      case 'image_file':
        return { type: 'image_file', image_file: { file_id: part.image_file.file_id, detail: part.image_file.detail ?? 'auto' } }
    }
  })
}

/** Builds the stored message for a client-supplied (or run-produced) message. */
export function newMessage(
  fields: { id: string; threadId: string; createdAt: number; params: MessageCreateParams } & Partial<
    Pick<Message, 'assistant_id' | 'run_id' | 'status' | 'completed_at'>
  >,
): Message {
  return {
    id: fields.id,
    object: 'thread.message',
    created_at: fields.createdAt,
    thread_id: fields.threadId,
    status: fields.status ?? 'completed',
    incomplete_details: null,
    completed_at: fields.completed_at ?? null,
    incomplete_at: null,
    role: fields.params.role,
    content: toMessageContent(fields.params.content),
    assistant_id: fields.assistant_id ?? null,
    run_id: fields.run_id ?? null,
    attachments: fields.params.attachments ?? [],
    metadata: fields.params.metadata ?? {},
  }
}
