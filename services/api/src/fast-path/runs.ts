import { RunCreateParams } from '@threadwork/domain'
import { pollHint } from '../routes/runs.js'
import { type FastPathDeps, type FastPost, type FastRequest, sendError, sendJson } from './fast-path.js'
import { parseBody } from './json-object.js'

/** The routes' labels in the metrics, as Hono names the generic path's (routes/runs.ts under `/v1`). */
const RUNS_ROUTE = '/v1/threads/:thread_id/runs'
const RUN_ROUTE = '/v1/threads/:thread_id/runs/:run_id'

/**
 * `POST /v1/threads/{thread_id}/runs` (routes/runs.ts `createRun`, no query string) on the fast
 * path: the body checked as json-body.ts does and validated by the same schema (`RunCreateParams`),
 * then `runs.create` and the run with its poll hint. A body refused, or asking for a stream, is
 * left to the generic path (`replay`), nothing stored yet.
 */
export function fastRunPost(deps: FastPathDeps): FastPost {
  return (fast, threadId, body, replay) => {
    const params = parseBody(RunCreateParams, body)
    if (!params || params.stream) return replay()
    void (async () => {
      try {
        const run = await deps.runs.create(fast.project, threadId, params, [])
        // An accepted write waits to be on disk before its 2xx, as durable-ack.ts has it.
        await deps.durability?.confirm()
        sendJson(deps, fast, RUNS_ROUTE, 200, run, pollHint(run))
      } catch (err) {
        sendError(deps, fast, RUNS_ROUTE, err)
      }
    })()
  }
}

/** `GET /v1/threads/{thread_id}/runs/{run_id}` (routes/runs.ts `getRun`) on the fast path: the run with its poll hint. */
export function fastRunGet(deps: FastPathDeps): (fast: FastRequest, threadId: string, runId: string) => void {
  return (fast, threadId, runId) => {
    // In a promise from the start: a throw would otherwise escape the request listener.
    Promise.resolve()
      .then(() => deps.runs.get(fast.project, threadId, runId))
      .then(
        (run) => sendJson(deps, fast, RUN_ROUTE, 200, run, pollHint(run)),
        (err: unknown) => sendError(deps, fast, RUN_ROUTE, err),
      )
  }
}
