import { createRoute, z } from '@hono/zod-openapi'
import { Thread, ThreadCreateParams, ThreadDeleted, ThreadUpdateParams } from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { AttachmentService } from '../attachments/attachment-service.js'
import type { RunService } from '../runs/run-service.js'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { attachMessageFiles, checkMessageAttachments, resolveCreateResources } from '../vector-stores/resolve.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })

export const threadRoutes = (stores: Stores, runs: RunService, vs: VectorStoresApi | null = null, attachments: AttachmentService | null = null) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'post', path: '/threads', operationId: 'createThread', request: jsonRequest(ThreadCreateParams, false), responses: jsonResponse(Thread, 'The thread.') }),
      async (c) => {
        const requested = c.req.valid('json') ?? {}
        // Every attached file must be the project's; code_interpreter ones join the new thread's files.
        const prepared = attachments ? await attachments.forNewThread(c.get('project'), requested) : null
        const params = prepared?.params ?? requested
        const messages = params.messages ?? []
        await checkMessageAttachments(vs, c.get('project'), messages, 'messages')
        const tool_resources = await resolveCreateResources(vs, c.get('project'), params.tool_resources)
        const { thread } = await stores.threads.create(c.get('project'), { ...params, tool_resources })
        // file_search attachments go to the thread's vector store, which they may link into its tool_resources.
        const linked = await attachMessageFiles(vs, c.get('project'), thread.id, messages)
        return c.json(linked ? await stores.threads.get(c.get('project'), thread.id) : thread, 200)
      },
    )
    .openapi(
      createRoute({ method: 'get', path: '/threads/{thread_id}', operationId: 'getThread', request: { params: ThreadParams }, responses: jsonResponse(Thread, 'The thread.') }),
      async (c) => c.json(await stores.threads.get(c.get('project'), c.req.valid('param').thread_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}',
        operationId: 'modifyThread',
        request: { params: ThreadParams, ...jsonRequest(ThreadUpdateParams, false) },
        responses: jsonResponse(Thread, 'The modified thread.'),
      }),
      async (c) => {
        const params = c.req.valid('json') ?? {}
        await vs?.toolResources.checkIds(c.get('project'), params.tool_resources)
        return c.json(await stores.threads.update(c.get('project'), c.req.valid('param').thread_id, params), 200)
      },
    )
    .openapi(
      createRoute({ method: 'delete', path: '/threads/{thread_id}', operationId: 'deleteThread', request: { params: ThreadParams }, responses: jsonResponse(ThreadDeleted, 'Deletion status.') }),
      async (c) => {
        const threadId = c.req.valid('param').thread_id
        await runs.endForDeletedThread(c.get('project'), threadId)
        return c.json(await stores.threads.delete(c.get('project'), threadId), 200)
      },
    )
