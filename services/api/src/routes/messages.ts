import { createRoute, z } from '@hono/zod-openapi'
import { ListQuery, Message, MessageCreateParams, MessageDeleted, MessageList, MessageUpdateParams } from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { AttachmentService } from '../attachments/attachment-service.js'
import type { RunService } from '../runs/run-service.js'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })
const MessageParams = ThreadParams.extend({ message_id: z.string() })
/** A thread's messages' list query (the fast path, fast-path/messages.ts, reads its defaults too). */
export const MessageListQuery = ListQuery.extend({ run_id: z.string().min(1).optional() })

export const messageRoutes = (stores: Stores, runs: RunService, vs: VectorStoresApi | null = null, attachments: AttachmentService | null = null) =>
  resourceApp()
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/messages',
        operationId: 'createMessage',
        request: { params: ThreadParams, ...jsonRequest(MessageCreateParams) },
        responses: jsonResponse(Message, 'The message.'),
      }),
      async (c) => {
        const { thread_id } = c.req.valid('param')
        const params = c.req.valid('json')
        // Every attached file must be the project's: a 404 naming the attachment, as on every path that
        // takes attachments (threads, runs, turns), before file_search's own checks (purpose, 400).
        await attachments?.check(c.get('project'), [params])
        await vs?.toolResources.checkAttachments(c.get('project'), params.attachments)
        const create = () => runs.unlockingExpired(c.get('project'), thread_id, () => stores.messages.create(c.get('project'), thread_id, params))
        // Every attached file must be the project's; code_interpreter ones join the thread's files.
        const message = await (attachments ? attachments.forMessage(c.get('project'), thread_id, params, create) : create())
        // file_search attachments go to the thread's vector store (made on first use).
        await vs?.toolResources.attachToThread(c.get('project'), thread_id, params.attachments)
        return c.json(message, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/messages',
        operationId: 'listMessages',
        request: { params: ThreadParams, query: MessageListQuery },
        responses: jsonResponse(MessageList, 'A page of messages.'),
      }),
      async (c) => c.json(await stores.messages.list(c.get('project'), c.req.valid('param').thread_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/messages/{message_id}',
        operationId: 'getMessage',
        request: { params: MessageParams },
        responses: jsonResponse(Message, 'The message.'),
      }),
      async (c) => {
        const { thread_id, message_id } = c.req.valid('param')
        return c.json(await stores.messages.get(c.get('project'), thread_id, message_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/messages/{message_id}',
        operationId: 'modifyMessage',
        request: { params: MessageParams, ...jsonRequest(MessageUpdateParams, false) },
        responses: jsonResponse(Message, 'The modified message.'),
      }),
      async (c) => {
        const { thread_id, message_id } = c.req.valid('param')
        return c.json(await stores.messages.update(c.get('project'), thread_id, message_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/threads/{thread_id}/messages/{message_id}',
        operationId: 'deleteMessage',
        request: { params: MessageParams },
        responses: jsonResponse(MessageDeleted, 'Deletion status.'),
      }),
      async (c) => {
        const { thread_id, message_id } = c.req.valid('param')
        return c.json(await stores.messages.delete(c.get('project'), thread_id, message_id), 200)
      },
    )
