import { MessageListQuery } from '../routes/messages.js'
import { type FastPathDeps, type FastRequest, sendError, sendJson } from './fast-path.js'

/** The route's label in the metrics, as Hono names the generic path's (routes/messages.ts under `/v1`). */
const ROUTE = '/v1/threads/:thread_id/messages'

/**
 * `GET /v1/threads/{thread_id}/messages` without a query string (routes/messages.ts `listMessages`;
 * the SDKs' `messages.list(threadId)`) on the fast path: the first page by the same schema's
 * defaults (`MessageListQuery` of no parameters, as the generic path's query validator reads it).
 * Any query string is left to the generic path (fast-path.ts).
 */
export function fastMessageList(deps: FastPathDeps): (fast: FastRequest, threadId: string) => void {
  return (fast, threadId) => {
    // In a promise from the start: a throw would otherwise escape the request listener.
    Promise.resolve()
      .then(() => deps.stores.messages.list(fast.project, threadId, MessageListQuery.parse({})))
      .then(
        (page) => sendJson(deps, fast, ROUTE, 200, page),
        (err: unknown) => sendError(deps, fast, ROUTE, err),
      )
  }
}
