import { TurnCreateParams } from '@threadwork/domain'
import { assertWebhookTarget, defaultWebhookPolicy } from '../webhook-policy.js'
import { type FastPathDeps, type FastPost, sendError, sendJson } from './fast-path.js'
import { parseBody } from './json-object.js'

/** The route's label in the metrics, as Hono names the generic path's (routes/turns.ts under `/v1`). */
const ROUTE = '/v1/threads/:thread_id/turns'

/**
 * `POST /v1/threads/{thread_id}/turns` (routes/turns.ts `createTurn`) on the fast path: the body
 * parsed and checked as json-body.ts does, validated by the same zod schema (`TurnCreateParams`),
 * the `callback_url` judged by the same policy, then `turns.create` and its 202. Whatever the body
 * or the `callback_url` is refused for is left to the generic path (`replay`), nothing stored yet,
 * so every such 4xx is the generic path's own answer.
 */
export function fastTurnPost(deps: FastPathDeps): FastPost {
  const policy = deps.webhookPolicy ?? defaultWebhookPolicy()
  return (fast, threadId, body, replay) => {
    const params = parseBody(TurnCreateParams, body)
    if (!params) return replay()
    void (async () => {
      if (params.callback_url) {
        try {
          await assertWebhookTarget(policy, params.callback_url, 'callback_url')
        } catch {
          return replay()
        }
      }
      try {
        const key = fast.req.headers['idempotency-key']
        const turn = await deps.turns.create(fast.project, threadId, params, typeof key === 'string' ? key : undefined)
        // An accepted write waits to be on disk before its 2xx, as durable-ack.ts has it.
        await deps.durability?.confirm()
        sendJson(deps, fast, ROUTE, 202, turn)
      } catch (err) {
        sendError(deps, fast, ROUTE, err)
      }
    })()
  }
}
