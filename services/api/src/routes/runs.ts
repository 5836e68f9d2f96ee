import { createRoute, z } from '@hono/zod-openapi'
import {
  IncludeQuery,
  ListQuery,
  Run,
  RunCreateParams,
  RunList,
  RunStep,
  RunStepList,
  RunSubmitToolOutputsParams,
  RunUpdateParams,
  ThreadCreateAndRunParams,
  includesFileSearchContent,
  isTerminalRunStatus,
  stepForInclude,
} from '@threadwork/domain'
import type { Stores } from '@threadwork/storage'
import type { Context } from 'hono'
import type { AppEnv } from '../env.js'
import type { RunService } from '../runs/run-service.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const ThreadParams = z.object({ thread_id: z.string() })
const RunParams = ThreadParams.extend({ run_id: z.string() })
const StepParams = RunParams.extend({ step_id: z.string() })
const Include = z.object({ 'include[]': IncludeQuery })
const StepQuery = ListQuery.extend(Include.shape)

/** Streaming responses are produced by the SSE module (wired in by createApp). */
export type RunStreamer = {
  createRun(c: Context<AppEnv>, threadId: string, params: RunCreateParams, include?: readonly string[]): Promise<Response>
  createThreadAndRun(c: Context<AppEnv>, params: ThreadCreateAndRunParams): Promise<Response>
  submitToolOutputs(c: Context<AppEnv>, threadId: string, runId: string, params: RunSubmitToolOutputsParams): Promise<Response>
}

/**
 * How long the SDK pollers (`createAndPoll`, `submitToolOutputsAndPoll`) sleep between reads of an
 * unfinished run; without the header openai-node sleeps 5 s.
 */
export const POLL_AFTER_MS = '50'

/** The `openai-poll-after-ms` header an unfinished run is answered with, or none (the fast path, fast-path/, adds it too). */
export const pollHint = (run: Run): Record<string, string> | undefined =>
  !isTerminalRunStatus(run.status) && run.status !== 'requires_action' ? { 'openai-poll-after-ms': POLL_AFTER_MS } : undefined

const withPollHint = (c: Context<AppEnv>, run: Run) => {
  for (const [name, value] of Object.entries(pollHint(run) ?? {})) c.header(name, value)
  return c.json(run, 200)
}

export const runRoutes = (stores: Stores, runs: RunService, streamer: RunStreamer | null) =>
  resourceApp()
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/runs',
        operationId: 'createRun',
        request: { params: ThreadParams, query: Include, ...jsonRequest(RunCreateParams) },
        responses: jsonResponse(Run, 'The run (or, with `stream: true`, a text/event-stream of run events).'),
      }),
      async (c) => {
        const { thread_id } = c.req.valid('param')
        const include = c.req.valid('query')['include[]'] ?? []
        const params = c.req.valid('json')
        if (params.stream && streamer) return streamer.createRun(c, thread_id, params, include) as never
        return withPollHint(c, await runs.create(c.get('project'), thread_id, params, include))
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/runs',
        operationId: 'createThreadAndRun',
        request: jsonRequest(ThreadCreateAndRunParams),
        responses: jsonResponse(Run, 'The run (or an event stream).'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        if (params.stream && streamer) return streamer.createThreadAndRun(c, params) as never
        return withPollHint(c, (await runs.createThreadAndRun(c.get('project'), params)).run)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/runs',
        operationId: 'listRuns',
        request: { params: ThreadParams, query: ListQuery },
        responses: jsonResponse(RunList, 'A page of runs.'),
      }),
      async (c) => c.json(await runs.list(c.get('project'), c.req.valid('param').thread_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/runs/{run_id}',
        operationId: 'getRun',
        request: { params: RunParams },
        responses: jsonResponse(Run, 'The run.'),
      }),
      async (c) => {
        const { thread_id, run_id } = c.req.valid('param')
        return withPollHint(c, await runs.get(c.get('project'), thread_id, run_id))
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/runs/{run_id}',
        operationId: 'modifyRun',
        request: { params: RunParams, ...jsonRequest(RunUpdateParams, false) },
        responses: jsonResponse(Run, 'The modified run.'),
      }),
      async (c) => {
        const { thread_id, run_id } = c.req.valid('param')
        return c.json(await stores.runs.update(c.get('project'), thread_id, run_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/runs/{run_id}/cancel',
        operationId: 'cancelRun',
        request: { params: RunParams },
        responses: jsonResponse(Run, 'The run.'),
      }),
      async (c) => {
        const { thread_id, run_id } = c.req.valid('param')
        return withPollHint(c, await runs.cancel(c.get('project'), thread_id, run_id))
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/threads/{thread_id}/runs/{run_id}/submit_tool_outputs',
        operationId: 'submitToolOuputsToRun',
        request: { params: RunParams, ...jsonRequest(RunSubmitToolOutputsParams) },
        responses: jsonResponse(Run, 'The run (or an event stream).'),
      }),
      async (c) => {
        const { thread_id, run_id } = c.req.valid('param')
        const params = c.req.valid('json')
        if (params.stream && streamer) return streamer.submitToolOutputs(c, thread_id, run_id, params) as never
        return withPollHint(c, await runs.submitToolOutputs(c.get('project'), thread_id, run_id, params))
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/runs/{run_id}/steps',
        operationId: 'listRunSteps',
        request: { params: RunParams, query: StepQuery },
        responses: jsonResponse(RunStepList, 'A page of run steps.'),
      }),
      async (c) => {
        const { thread_id, run_id } = c.req.valid('param')
        const { 'include[]': include, ...query } = c.req.valid('query')
        const page = await stores.runs.listSteps(c.get('project'), thread_id, run_id, query)
        const withContent = includesFileSearchContent(include)
        return c.json({ ...page, data: page.data.map((s) => stepForInclude(s, withContent)) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/threads/{thread_id}/runs/{run_id}/steps/{step_id}',
        operationId: 'getRunStep',
        request: { params: StepParams, query: Include },
        responses: jsonResponse(RunStep, 'The run step.'),
      }),
      async (c) => {
        const { thread_id, run_id, step_id } = c.req.valid('param')
        const step = await stores.runs.getStep(c.get('project'), thread_id, run_id, step_id)
        return c.json(stepForInclude(step, includesFileSearchContent(c.req.valid('query')['include[]'])), 200)
      },
    )
