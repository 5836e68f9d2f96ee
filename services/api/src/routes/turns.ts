import { createRoute, z } from '@hono/zod-openapi'
import { ListQuery, ThreadTurnCreateParams, Turn, TurnCreateParams, TurnList } from '@threadwork/domain'
import type { TurnService } from '../turns/turn-service.js'
import { type WebhookPolicy, assertWebhookTarget, defaultWebhookPolicy } from '../webhook-policy.js'
import { conflictResponse, jsonRequest, resourceApp } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })
const TurnParams = ThreadParams.extend({ turn_id: z.string() })
const IdempotencyHeader = z.object({ 'idempotency-key': z.string().min(1).optional() })

const accepted = (description: string) => ({
  202: { content: { 'application/json': { schema: Turn } }, description },
  ...conflictResponse('A request with the same `Idempotency-Key` is still being processed; retry shortly.'),
})
const ok = <S extends z.ZodTypeAny>(schema: S, description: string) => ({ 200: { content: { 'application/json': { schema } }, description } })

/**
 * Threadwork's extension to the Assistants API: POST a user's turn, get the answer by webhook.
 * Turns are accepted even while a run is active and run one at a time per thread, in order.
 */
export const turnRoutes = (turns: TurnService, policy: WebhookPolicy = defaultWebhookPolicy()) =>
  resourceApp()
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/turns',
        operationId: 'createTurn',
        request: { params: ThreadParams, headers: IdempotencyHeader, ...jsonRequest(TurnCreateParams) },
        responses: accepted('The turn, queued.'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        if (params.callback_url) await assertWebhookTarget(policy, params.callback_url, 'callback_url')
        return c.json(await turns.create(c.var.project, c.req.valid('param').thread_id, params, c.req.valid('header')['idempotency-key']), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/turns',
        operationId: 'createThreadTurn',
        request: { headers: IdempotencyHeader, ...jsonRequest(ThreadTurnCreateParams) },
        responses: accepted('The turn, queued on a new thread.'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        if (params.callback_url) await assertWebhookTarget(policy, params.callback_url, 'callback_url')
        return c.json(await turns.createWithThread(c.var.project, params, c.req.valid('header')['idempotency-key']), 202)
      },
    )
    .openapi(
      createRoute({ method: 'get', path: '/threads/{thread_id}/turns', operationId: 'listTurns', request: { params: ThreadParams, query: ListQuery }, responses: ok(TurnList, 'A page of turns.') }),
      async (c) => c.json(await turns.list(c.var.project, c.req.valid('param').thread_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/threads/{thread_id}/turns/{turn_id}', operationId: 'getTurn', request: { params: TurnParams }, responses: ok(Turn, 'The turn.') }),
      async (c) => {
        const { thread_id, turn_id } = c.req.valid('param')
        return c.json(await turns.get(c.var.project, thread_id, turn_id), 200)
      },
    )
    .openapi(
      createRoute({ method: 'post', path: '/threads/{thread_id}/turns/{turn_id}/cancel', operationId: 'cancelTurn', request: { params: TurnParams }, responses: ok(Turn, 'The turn.') }),
      async (c) => {
        const { thread_id, turn_id } = c.req.valid('param')
        return c.json(await turns.cancel(c.var.project, thread_id, turn_id), 200)
      },
    )
