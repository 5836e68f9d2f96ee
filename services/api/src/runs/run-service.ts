import {
  ApiError,
  type Message,
  type Run,
  type RunCreateParams,
  type RunSubmitToolOutputsParams,
  type Thread,
  type ThreadCreateAndRunParams,
  checkToolChoice,
  includesFileSearchContent,
  isTerminalRunStatus,
  newId,
  newRun,
  nowSeconds,
  threadToolResourcesForRun,
} from '@threadwork/domain'
import { type DrainQueues, EXPIRY_BACKSTOP_GRACE_MS } from '@threadwork/queue'
import { type ModelStatusOf, createModelGate } from '../model-gate.js'
import { RunInternal, type Stores, buildMessages, runInternalSettings, withTurn } from '@threadwork/storage'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { attachMessageFiles, checkMessageAttachments, resolveCreateResources } from '../vector-stores/resolve.js'

export interface RunServiceDeps {
  stores: Stores
  queues: DrainQueues
  /** Whether `model` can be used (`createModelCheck`): runs and assistants for unknown models are refused. */
  modelStatus: ModelStatusOf
  runExpiresAfterSeconds: number
  /** Publishes "abort run X" to whichever worker is driving it. */
  publishCancel: (runId: string) => Promise<void>
  /** Vector stores (tool_resources helper, file_search attachments); absent: the helper is refused. */
  vectorStores?: VectorStoresApi | null
  /** Attachment checks (files are the project's) and code_interpreter files on the thread; absent: stored as given. */
  attachments?: AttachmentService
}

import type { AttachmentService } from '../attachments/attachment-service.js'

export type RunService = ReturnType<typeof createRunService>

/** Run operations behind the routes: validation against stored state, commits, queueing. */
export function createRunService(deps: RunServiceDeps) {
  const { stores, queues } = deps
  const gate = createModelGate(deps.modelStatus)

  async function enqueue(run: Run): Promise<void> {
    // A failure here leaves the run in its thread's mailbox and the shard's pending set: the
    // reconciler re-adds the drain. Its expiry is in the shard's deadlines set (written with it).
    await queues.enqueueDrain(run.thread_id)
  }

  async function prepare(project: string, threadId: string, params: RunCreateParams | ThreadCreateAndRunParams): Promise<{ run: Run; internal: Record<string, string> }> {
    const assistant = await stores.assistants.get(project, params.assistant_id)
    const model = params.model ?? assistant.model
    await gate.forRun(model)
    checkToolChoice(params.tool_choice, params.tools ?? assistant.tools)
    const { assistant_id: _a, stream: _s, reasoning_effort: _r, ...settings } = params as RunCreateParams
    const run = newRun({ id: newId('run'), threadId, assistant, settings, createdAt: nowSeconds(), expiresAfterSeconds: deps.runExpiresAfterSeconds })
    // Only a `stream: true` response reads the run's live events: without one, none are written.
    return { run, internal: { ...runInternalSettings(params as RunCreateParams, assistant), [RunInternal.live]: params.stream ? '1' : '0' } }
  }

  /** Expires an active run whose deadline passed, even if no worker is alive to notice. */
  async function expireIfDue(run: Run): Promise<Run> {
    if (isTerminalRunStatus(run.status) || run.expires_at === null || nowSeconds() < run.expires_at) return run
    // A worker may be driving it: its own timer ends it at `expires_at`, keeping the streamed reply.
    const driven = run.status === 'in_progress' || run.status === 'cancelling'
    if (driven && Date.now() < run.expires_at * 1000 + EXPIRY_BACKSTOP_GRACE_MS) return run
    const outcome = await stores.runLifecycle.end(run.thread_id, run.id, 'expired')
    if (outcome.ok) await queues.enqueueDrain(run.thread_id)
    return outcome.ok && outcome.run ? outcome.run : run
  }

  /**
   * Runs `write` (which the thread lock may refuse); if the run holding the lock is overdue, it is
   * expired first and `write` tried once more — so a thread never stays locked by a run that
   * should have expired while no worker was alive and nobody read it.
   */
  async function unlockingExpired<T>(project: string, threadId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (err) {
      const holder = err instanceof ApiError && err.status === 400 ? /\b(run_[A-Za-z0-9]+)\b/.exec(err.message)?.[1] : undefined
      if (!holder) throw err
      const run = await stores.runs.get(project, threadId, holder).catch(() => null)
      if (!run || !isTerminalRunStatus((await expireIfDue(run)).status)) throw err
      return write()
    }
  }

  return {
    unlockingExpired,

    /**
     * Before a thread is deleted (issue 12 item 4): its active run ends `cancelled` at once — the
     * commit appends that last state to the run's live stream, so open `stream: true` responses end
     * with it — and the worker driving it is told to abort its upstream request.
     */
    async endForDeletedThread(project: string, threadId: string): Promise<void> {
      const [owner, runId] = await stores.redis.hmget(stores.keys.thread(threadId), '_project', '_active_run')
      if (owner !== project || !runId) return
      await stores.runLifecycle.end(threadId, runId, 'cancelled', { from: ['queued', 'in_progress', 'requires_action', 'cancelling'] })
      await deps.publishCancel(runId)
    },

    /** `include`: the request's validated `include[]` (file_search result content in the run's live step events). */
    async create(project: string, threadId: string, params: RunCreateParams, include: readonly string[] = []): Promise<Run> {
      const { run, internal } = await prepare(project, threadId, params)
      const additional: Message[] = buildMessages(threadId, params.additional_messages ?? [])
      if (includesFileSearchContent(include)) internal[RunInternal.includeContent] = '1'
      // Every attached file must be the project's; code_interpreter ones join the thread's files (≤ 20) before the run starts.
      if (deps.attachments) {
        const ci = (await deps.attachments.check(project, params.additional_messages ?? [], 'additional_messages')).codeInterpreter
        if (ci.length > 0) await deps.attachments.addToThread(project, threadId, { codeInterpreter: ci, fileSearch: [] })
      }
      await checkMessageAttachments(deps.vectorStores, project, params.additional_messages ?? [], 'additional_messages')
      // Before the run is queued, so its file_search sees the thread's store.
      await attachMessageFiles(deps.vectorStores, project, threadId, params.additional_messages ?? [])
      await unlockingExpired(project, threadId, () => stores.runs.create(project, run, additional, internal))
      await enqueue(run)
      return run
    },

    async createThreadAndRun(project: string, params: ThreadCreateAndRunParams): Promise<{ run: Run; threadId: string; thread: Thread }> {
      // Check the assistant and model before creating anything, so a bad request leaves nothing behind.
      await prepare(project, 'thread_pending', params)
      const messages = params.thread?.messages ?? []
      // Every attached file must be the project's; code_interpreter ones join the new thread's files.
      const ci = deps.attachments ? (await deps.attachments.check(project, messages, 'thread.messages')).codeInterpreter : []
      await checkMessageAttachments(deps.vectorStores, project, messages, 'thread.messages')
      if (!params.thread?.tool_resources) await deps.vectorStores?.toolResources.checkIds(project, params.tool_resources)
      const resolved = params.thread?.tool_resources
        ? await resolveCreateResources(deps.vectorStores, project, params.thread.tool_resources, 'thread.tool_resources')
        : params.tool_resources
      const tool_resources = deps.attachments && ci.length > 0 ? deps.attachments.withCodeInterpreterFiles(resolved, ci) : resolved
      // Created as a thread with a run is (OpenAI's `thread.created` here already has it): code_interpreter's empty entry.
      const created = await stores.threads.create(project, { ...params.thread, tool_resources: threadToolResourcesForRun(tool_resources) })
      const thread = (await attachMessageFiles(deps.vectorStores, project, created.thread.id, messages)) ? await stores.threads.get(project, created.thread.id) : created.thread
      const { run, internal } = await prepare(project, thread.id, params)
      await stores.runs.create(project, run, [], internal)
      await enqueue(run)
      return { run, threadId: thread.id, thread }
    },

    async get(project: string, threadId: string, runId: string): Promise<Run> {
      return expireIfDue(await stores.runs.get(project, threadId, runId))
    },

    async list(project: string, threadId: string, query: Parameters<Stores['runs']['list']>[2]) {
      const page = await stores.runs.list(project, threadId, query)
      return { ...page, data: await Promise.all(page.data.map(expireIfDue)) }
    },

    async cancel(project: string, threadId: string, runId: string): Promise<Run> {
      const run = await expireIfDue(await stores.runs.get(project, threadId, runId))
      if (isTerminalRunStatus(run.status) || run.status === 'cancelling') {
        throw ApiError.invalid(`Cannot cancel run with status '${run.status}'.`)
      }
      if (run.status === 'in_progress') {
        const outcome = await stores.runs.commit(threadId, runId, {
          project,
          from: ['in_progress'],
          run: { status: 'cancelling' },
          events: [{ type: 'thread.run.cancelling', data: { ...run, status: 'cancelling' } }],
          live: { events: [{ event: 'thread.run.cancelling', data: { ...run, status: 'cancelling' } }] },
        })
        if (outcome.ok) {
          await deps.publishCancel(runId)
          return { ...run, status: 'cancelling' }
        }
      }
      // Queued or waiting for tool outputs: nobody is driving it, so it ends here and now.
      const ended = await stores.runLifecycle.end(threadId, runId, 'cancelled', { from: ['queued', 'requires_action'] })
      if (ended.ok && ended.run) {
        await queues.enqueueDrain(threadId)
        return ended.run
      }
      // It moved on meanwhile (a worker picked it up): report what it is now.
      const now = await stores.runs.get(project, threadId, runId)
      if (isTerminalRunStatus(now.status)) throw ApiError.invalid(`Cannot cancel run with status '${now.status}'.`)
      return this.cancel(project, threadId, runId)
    },

    async submitToolOutputs(project: string, threadId: string, runId: string, params: RunSubmitToolOutputsParams): Promise<Run> {
      return (await this.submitToolOutputsAt(project, threadId, runId, params)).run
    },

    /**
     * submit_tool_outputs, also telling where its live events start: `liveFrom` is the live stream's
     * last entry before the `thread.run.step.completed` + `thread.run.queued` this commit appended.
     */
    async submitToolOutputsAt(project: string, threadId: string, runId: string, params: RunSubmitToolOutputsParams): Promise<{ run: Run; liveFrom: string }> {
      const run = await expireIfDue(await stores.runs.get(project, threadId, runId))
      if (run.status !== 'requires_action' || !run.required_action) {
        throw ApiError.invalid(`Runs in status "${run.status}" do not accept tool outputs.`)
      }
      const expected = run.required_action.submit_tool_outputs.tool_calls.map((c) => c.id)
      const got = params.tool_outputs.map((o) => o.tool_call_id ?? '')
      const py = (ids: string[]) => `[${ids.map((i) => `'${i}'`).join(', ')}]`
      if (expected.length !== got.length || !expected.every((id) => got.includes(id))) {
        throw ApiError.invalid(`Expected tool outputs for call_ids ${py(expected)}, got ${py(got)}`)
      }
      const loaded = await stores.runs.load(threadId, runId)
      const stepId = loaded?.internal[RunInternal.openStep]
      const step = stepId ? await stores.runs.getStep(project, threadId, runId, stepId).catch(() => null) : null
      const now = nowSeconds()
      const roundUsage = loaded?.internal[RunInternal.openStepUsage]
      const outputs = new Map(params.tool_outputs.map((o) => [o.tool_call_id ?? '', o.output ?? '']))
      const completedStep =
        step && step.step_details.type === 'tool_calls'
          ? {
              ...step,
              status: 'completed' as const,
              completed_at: now,
              // The model round that made the calls (issue 12 item 2: every completed step carries its round's usage).
              usage: roundUsage ? JSON.parse(roundUsage) : step.usage,
              step_details: {
                type: 'tool_calls' as const,
                // Built-in calls of a mixed round were executed by the worker already; only functions take outputs.
                tool_calls: step.step_details.tool_calls.map((c) => (c.type === 'function' ? { ...c, function: { ...c.function, output: outputs.get(c.id) ?? '' } } : c)),
              },
            }
          : null
      const queued: Run = { ...run, status: 'queued', required_action: null }
      const turnLink = await stores.runLifecycle.turnLinkOf(threadId, runId, loaded?.internal[RunInternal.turn])
      const outcome = await stores.runs.commit(
        threadId,
        runId,
        withTurn(
          {
            project,
            from: ['requires_action'],
            run: { status: 'queued', required_action: null },
            // The continued run streams live only to a `stream: true` submit (its response reads from here).
            internal: { [RunInternal.openStep]: '', [RunInternal.openStepUsage]: '', [RunInternal.live]: params.stream ? '1' : '0' },
            steps: completedStep ? [completedStep] : [],
            pending: true,
            live: {
              events: [
                ...(completedStep ? [{ event: 'thread.run.step.completed', data: completedStep }] : []),
                { event: 'thread.run.queued', data: queued },
              ],
            },
          },
          queued,
          turnLink,
          now,
        ),
      )
      if (!outcome.ok) {
        const status = outcome.reason === 'status' ? outcome.status : 'expired'
        throw ApiError.invalid(`Runs in status "${status}" do not accept tool outputs.`)
      }
      await queues.enqueueDrain(threadId)
      return { run: queued, liveFrom: outcome.liveFrom ?? '0-0' }
    },
  }
}
