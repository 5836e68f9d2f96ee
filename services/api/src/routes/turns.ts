import { createRoute, z } from '@hono/zod-openapi'
import { ListQuery, ThreadTurnCreateParams, Turn, TurnCreateParams, TurnList } from '@threadwork/domain'
import type { TurnService } from '../turns/turn-service.js'
import { type WebhookPolicy, assertWebhookTarget, defaultWebhookPolicy } from '../webhook-policy.js'
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'
import { conflictResponse, jsonRequest, resourceApp, zodErrorHook } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })
const TurnParams = ThreadParams.extend({ turn_id: z.string() })
const IdempotencyHeader = z.object({ 'idempotency-key': z.string().min(1).optional() })

/**
 * The POSTs' `Idempotency-Key`, validated as `request.headers: IdempotencyHeader` would (the same
 * 400), from that one header: the route's header validator reads every header (`c.req.header()`),
 * which makes @hono/node-server build a web `Headers` of the whole request (~6 % of the API's CPU
 * on the turn path, profiled, issue 14). Documented as that validator documents it (`parameters`).
 */
const checkIdempotencyKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  // A route's middleware runs before its validators: the header's 400 still comes before the body's.
  const key = c.req.header('idempotency-key')
  // Absent is valid (optional): no schema to run on the turn path's usual request.
  if (key !== undefined) {
    const parsed = IdempotencyHeader.safeParse({ 'idempotency-key': key })
    if (!parsed.success) await zodErrorHook({ success: false, error: parsed.error, target: 'header' }, c)
  }
  await next()
}
const idempotencyKey = (c: Context<AppEnv>): string | undefined => c.req.header('idempotency-key')
const idempotencyParameter = { schema: { type: 'string', minLength: 1 }, required: false, name: 'idempotency-key', in: 'header' } as const
const threadIdParameter = { schema: { type: 'string' }, required: true, name: 'thread_id', in: 'path' } as const

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
        // The path's one parameter needs no validator (a matched segment is a string): read as is.
        parameters: [threadIdParameter, idempotencyParameter],
        middleware: [checkIdempotencyKey] as const,
        request: { ...jsonRequest(TurnCreateParams) },
        responses: accepted('The turn, queued.'),
      }),
      async (c) => {
        const key = idempotencyKey(c)
        const params = c.req.valid('json')
        if (params.callback_url) await assertWebhookTarget(policy, params.callback_url, 'callback_url')
        return c.json(await turns.create(c.get('project'), c.req.param('thread_id'), params, key), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/turns',
        operationId: 'createThreadTurn',
        parameters: [idempotencyParameter],
        middleware: [checkIdempotencyKey] as const,
        request: { ...jsonRequest(ThreadTurnCreateParams) },
        responses: accepted('The turn, queued on a new thread.'),
      }),
      async (c) => {
        const key = idempotencyKey(c)
        const params = c.req.valid('json')
        if (params.callback_url) await assertWebhookTarget(policy, params.callback_url, 'callback_url')
        return c.json(await turns.createWithThread(c.get('project'), params, key), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/turns',
        operationId: 'listTurns',
        request: { params: ThreadParams, query: ListQuery },
        responses: ok(TurnList, 'A page of turns.'),
      }),
      async (c) => c.json(await turns.list(c.get('project'), c.req.valid('param').thread_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/turns/{turn_id}',
        operationId: 'getTurn',
        request: { params: TurnParams },
        responses: ok(Turn, 'The turn.'),
      }),
      async (c) => {
        const { thread_id, turn_id } = c.req.valid('param')
        return c.json(await turns.get(c.get('project'), thread_id, turn_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/turns/{turn_id}/cancel',
        operationId: 'cancelTurn',
        request: { params: TurnParams },
        responses: ok(Turn, 'The turn.'),
      }),
      async (c) => {
        const { thread_id, turn_id } = c.req.valid('param')
        return c.json(await turns.cancel(c.get('project'), thread_id, turn_id), 200)
      },
    )
