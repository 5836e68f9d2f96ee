import { createRoute, z } from '@hono/zod-openapi'
import { Thread, ThreadCreateParams, ThreadDeleted, ThreadUpdateParams } from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { RunService } from '../runs/run-service.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })

export const threadRoutes = (stores: Stores, runs: RunService) =>
  resourceApp()
    .openapi(
      createRoute({ method: 'post', path: '/threads', operationId: 'createThread', request: jsonRequest(ThreadCreateParams, false), responses: jsonResponse(Thread, 'The thread.') }),
      async (c) => c.json((await stores.threads.create(c.var.project, c.req.valid('json'))).thread, 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/threads/{thread_id}', operationId: 'getThread', request: { params: ThreadParams }, responses: jsonResponse(Thread, 'The thread.') }),
      async (c) => c.json(await stores.threads.get(c.var.project, c.req.valid('param').thread_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}',
        operationId: 'modifyThread',
        request: { params: ThreadParams, ...jsonRequest(ThreadUpdateParams, false) },
        responses: jsonResponse(Thread, 'The modified thread.'),
      }),
      async (c) => c.json(await stores.threads.update(c.var.project, c.req.valid('param').thread_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({ method: 'delete', path: '/threads/{thread_id}', operationId: 'deleteThread', request: { params: ThreadParams }, responses: jsonResponse(ThreadDeleted, 'Deletion status.') }),
      async (c) => {
        const threadId = c.req.valid('param').thread_id
        await runs.endForDeletedThread(c.var.project, threadId)
        return c.json(await stores.threads.delete(c.var.project, threadId), 200)
      },
    )
