import {
  type Message,
  type Run,
  type RunStep,
  type RunUsage,
  isTerminalRunStatus,
  newId,
  nowSeconds,
} from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import {
  type ChatStreamResult,
  type ProviderRouter,
  StreamInterruptedError,
  type ToolTurn,
  UpstreamError,
  buildPrompt,
  countTextTokens,
  streamChatCompletion,
  withUpstreamRetries,
} from '@threadwork/model-client'
import type { DrainQueues } from '@threadwork/queue'
import { type CommitOutcome, type LoadedRun, RunInternal, type Stores, terminalPlan, withTurn } from '@threadwork/storage'
import { type CancelRegistry, RunAborted } from './cancel-registry.js'
import type { LiveEvents } from './live-events.js'
import { loadHistory } from './thread-history.js'
import { toChatRequest } from './upstream-request.js'

/** What happened to a mailbox item: finished, waiting on the client, or no longer ours. */
export type ItemResult = 'done' | 'parked' | 'fenced' | 'handed_back'

export interface ExecutorDeps {
  stores: Stores
  router: ProviderRouter
  live: LiveEvents
  cancels: CancelRegistry
  queues: DrainQueues
  log: Logger
  upstreamAttempts: number
  contextWindowTokens?: number
}

const USAGE_FIELD = '_usage'
const ROUND_MESSAGE = '_msg_id'
const ROUND_STEP = '_step_id'

const zeroUsage: RunUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
const addUsage = (a: RunUsage, b: RunUsage): RunUsage => ({
  prompt_tokens: a.prompt_tokens + b.prompt_tokens,
  completion_tokens: a.completion_tokens + b.completion_tokens,
  total_tokens: a.total_tokens + b.total_tokens,
})

/**
 * Drives one run from `queued` to a terminal status or `requires_action`: one model round per
 * call (a run resumed after tool outputs comes back here for its next round). Every write is a
 * fenced commit, so an attempt superseded after a lost lock writes nothing; the round's message
 * and step ids are fixed on the run before the model is called, so a re-run after a crash writes
 * the same message, never a second one.
 */
export function createRunExecutor(deps: ExecutorDeps) {
  const { stores, live, cancels, log } = deps
  const runs = stores.runs

  return async function executeRun(threadId: string, runId: string, fence: number, item: string): Promise<ItemResult> {
    const loaded = await runs.load(threadId, runId)
    if (!loaded) {
      // The run (or its thread) was deleted: drop the stale item.
      await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
      return 'done'
    }
    const { run, internal } = loaded
    const project = internal[RunInternal.project] ?? ''
    const now = nowSeconds()

    if (isTerminalRunStatus(run.status)) {
      const outcome = await runs.commit(threadId, runId, { project, fence, from: [run.status], pop: item, release: true })
      return outcome.ok || outcome.reason !== 'fenced' ? 'done' : 'fenced'
    }
    if (run.status === 'requires_action') {
      // Parked until tool outputs arrive (submit_tool_outputs re-adds a drain); no queue slot is held.
      await stores.redis.zrem(stores.keys.shardPending(threadId), threadId)
      return 'parked'
    }
    if (run.status === 'cancelling') return settle(await stores.runLifecycle.end(threadId, runId, 'cancelled', { fence, from: ['cancelling'] }))
    if (run.expires_at !== null && now >= run.expires_at) return settle(await stores.runLifecycle.end(threadId, runId, 'expired', { fence }))

    // queued (or in_progress again after a crash): fix this round's ids, then start.
    const messageId = internal[ROUND_MESSAGE] || newId('msg')
    const stepId = internal[ROUND_STEP] || newId('step')
    const started: Run = { ...run, status: 'in_progress', started_at: run.started_at ?? now }
    const start = await runs.commit(threadId, runId, {
      project,
      fence,
      from: ['queued', 'in_progress'],
      run: { status: 'in_progress', started_at: started.started_at },
      internal: { [ROUND_MESSAGE]: messageId, [ROUND_STEP]: stepId },
    })
    if (!start.ok) return afterFailedCommit(start, threadId, runId, fence)
    if (run.status === 'queued') live.emit(threadId, runId, 'thread.run.in_progress', started)

    const controller = cancels.register(runId, threadId)
    const expiryTimer =
      started.expires_at !== null ? setTimeout(() => cancels.abort(runId, 'expired'), Math.max(0, started.expires_at * 1000 - Date.now())) : null
    try {
      return await runRound({ ...loaded, run: started }, { project, fence, item, messageId, stepId, signal: controller.signal })
    } catch (err) {
      const reason = err instanceof RunAborted ? err.reason : controller.signal.reason instanceof RunAborted ? controller.signal.reason.reason : null
      if (reason === 'shutdown') {
        // Hand the thread back: another worker re-claims it and re-runs this round.
        await deps.queues.enqueueDrain(threadId)
        return 'handed_back'
      }
      if (reason === 'cancelled') return settle(await stores.runLifecycle.end(threadId, runId, 'cancelled', { fence, from: ['cancelling', 'in_progress'] }), true)
      if (reason === 'expired') return settle(await stores.runLifecycle.end(threadId, runId, 'expired', { fence }), true)
      const lastError =
        err instanceof UpstreamError
          ? { code: err.code, message: err.message }
          : { code: 'server_error' as const, message: err instanceof StreamInterruptedError ? 'The model stream was interrupted.' : 'Sorry, something went wrong.' }
      if (!(err instanceof UpstreamError)) log.error({ err, runId, threadId }, 'run failed')
      return settle(await stores.runLifecycle.end(threadId, runId, 'failed', { fence, lastError, from: ['in_progress'] }), true)
    } finally {
      if (expiryTimer) clearTimeout(expiryTimer)
      cancels.release(runId)
    }

    /** After a lifecycle commit: 'fenced' stops the drain, anything else moves on to the next item. */
    function settle(outcome: CommitOutcome & { run?: Run }, announce = false): ItemResult {
      if (outcome.ok && outcome.run && announce) {
        live.emit(threadId, runId, `thread.run.${outcome.run.status}`, outcome.run)
        live.end(threadId, runId)
      }
      if (!outcome.ok && outcome.reason === 'fenced') return 'fenced'
      return 'done'
    }
  }

  async function afterFailedCommit(outcome: CommitOutcome, threadId: string, runId: string, fence: number): Promise<ItemResult> {
    if (outcome.ok) return 'done'
    if (outcome.reason === 'fenced') return 'fenced'
    if (outcome.reason === 'status' && outcome.status === 'cancelling') {
      const ended = await stores.runLifecycle.end(threadId, runId, 'cancelled', { fence, from: ['cancelling'] })
      if (ended.ok && ended.run) {
        live.emit(threadId, runId, 'thread.run.cancelled', ended.run)
        live.end(threadId, runId)
      }
      return !ended.ok && ended.reason === 'fenced' ? 'fenced' : 'done'
    }
    // Ended meanwhile (expired, cancelled): nothing of ours to write.
    return 'done'
  }

  async function runRound(
    loaded: LoadedRun,
    ctx: { project: string; fence: number; item: string; messageId: string; stepId: string; signal: AbortSignal },
  ): Promise<ItemResult> {
    const { run, internal } = loaded
    const threadId = run.thread_id
    const usedSoFar: RunUsage = internal[USAGE_FIELD] ? JSON.parse(internal[USAGE_FIELD]) : zeroUsage

    const promptBudget = run.max_prompt_tokens !== null ? run.max_prompt_tokens - usedSoFar.prompt_tokens : null
    const completionBudget = run.max_completion_tokens !== null ? run.max_completion_tokens - usedSoFar.completion_tokens : null
    const contextWindow = deps.contextWindowTokens ?? 128_000
    if (completionBudget !== null && completionBudget <= 0) return incomplete('max_completion_tokens', usedSoFar)

    const history = await loadHistory(stores.redis, stores.keys, threadId, {
      lastMessages: run.truncation_strategy.type === 'last_messages' ? run.truncation_strategy.last_messages : null,
      budgetTokens: Math.min(promptBudget ?? contextWindow, contextWindow),
    })
    const prompt = buildPrompt({
      instructions: run.instructions || null,
      additionalInstructions: internal[RunInternal.additionalInstructions] || null,
      messages: history,
      truncation: run.truncation_strategy,
      maxPromptTokens: promptBudget !== null ? Math.max(promptBudget, 0) : null,
      contextWindowTokens: contextWindow,
      toolTurns: await toolTurnsOf(ctx.project, run),
    })
    if (!prompt.fits) return incomplete('max_prompt_tokens', usedSoFar)

    const resolved = deps.router.resolve(run.model)
    if (!resolved) {
      throw new UpstreamError({ retryable: false, code: 'invalid_prompt', status: null, retryAfterMs: null, message: `The model '${run.model}' is not served by any configured provider.` })
    }

    const stream = createRoundStream(run, ctx.messageId, ctx.stepId)
    const result: ChatStreamResult = await withUpstreamRetries(
      () =>
        streamChatCompletion({
          client: resolved.client,
          request: toChatRequest(run, prompt.chatMessages, completionBudget),
          signal: ctx.signal,
          headers: { 'x-threadwork-thread': threadId, 'x-threadwork-run': run.id },
          onTextDelta: stream.text,
          onToolCallDelta: stream.toolCall,
        }),
      { signal: ctx.signal, maxAttempts: deps.upstreamAttempts },
    )

    const roundUsage: RunUsage = result.usage ?? {
      prompt_tokens: prompt.promptTokens,
      completion_tokens: countTextTokens(result.text + result.toolCalls.map((c) => c.name + c.arguments).join('')),
      total_tokens: 0,
    }
    roundUsage.total_tokens = roundUsage.prompt_tokens + roundUsage.completion_tokens
    const usage = addUsage(usedSoFar, roundUsage)
    const now = nowSeconds()
    const textMessage: Message | null = result.text
      ? {
          id: ctx.messageId,
          object: 'thread.message',
          created_at: now,
          thread_id: threadId,
          status: 'completed',
          incomplete_details: null,
          completed_at: now,
          incomplete_at: null,
          role: 'assistant',
          content: [{ type: 'text', text: { value: result.text, annotations: [] } }],
          assistant_id: run.assistant_id,
          run_id: run.id,
          attachments: [],
          metadata: {},
        }
      : null
    const messageStep = textMessage ? stepOf(run, ctx.stepId, now, { type: 'message_creation', message_creation: { message_id: ctx.messageId } }, roundUsage) : null

    if (result.toolCalls.length > 0) {
      const toolStepId = stream.toolStepId()
      const toolStep: RunStep = {
        ...stepOf(run, toolStepId, now, {
          type: 'tool_calls',
          tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments, output: null } })),
        }, null),
        status: 'in_progress',
        completed_at: null,
      }
      const waiting: Run = {
        ...run,
        status: 'requires_action',
        usage,
        required_action: {
          type: 'submit_tool_outputs',
          submit_tool_outputs: { tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) },
        },
      }
      const turnLink = await stores.runLifecycle.turnLinkOf(threadId, run.id, internal[RunInternal.turn], textMessage ? [textMessage] : [])
      const outcome = await runs.commit(threadId, run.id, withTurn({
        project: ctx.project,
        fence: ctx.fence,
        from: ['in_progress'],
        run: { status: 'requires_action', required_action: waiting.required_action, usage },
        internal: { [USAGE_FIELD]: JSON.stringify(usage), [RunInternal.openStep]: toolStepId, [ROUND_MESSAGE]: '', [ROUND_STEP]: '' },
        messages: textMessage ? [textMessage] : [],
        steps: [...(messageStep ? [messageStep] : []), toolStep],
        events: [...(textMessage ? [{ type: 'thread.message.completed', data: textMessage }] : []), { type: 'thread.run.requires_action', data: waiting }],
      }, waiting, turnLink, now))
      if (!outcome.ok) return afterFailedCommit(outcome, threadId, run.id, ctx.fence)
      stream.finishToolCalls(toolStep)
      live.emit(threadId, run.id, 'thread.run.requires_action', waiting)
      live.end(threadId, run.id)
      await stores.redis.zrem(stores.keys.shardPending(threadId), threadId)
      return 'parked'
    }

    const cut = result.finishReason === 'length'
    const message: Message = textMessage
      ? cut
        ? { ...textMessage, status: 'incomplete', completed_at: null, incomplete_at: now, incomplete_details: { reason: 'max_tokens' } }
        : textMessage
      : { ...emptyAssistantMessage(run, ctx.messageId, now) }
    const step = messageStep ?? stepOf(run, ctx.stepId, now, { type: 'message_creation', message_creation: { message_id: ctx.messageId } }, roundUsage)
    const { plan, run: finished } = terminalPlan(loaded, cut ? 'incomplete' : 'completed', {
      project: ctx.project,
      now,
      fence: ctx.fence,
      from: ['in_progress'],
      run: { usage, ...(cut ? { incomplete_details: { reason: 'max_completion_tokens' as const } } : {}) },
      messages: [message],
      steps: [step],
      extraEvents: [{ type: cut ? 'thread.message.incomplete' : 'thread.message.completed', data: message }],
      turn: await stores.runLifecycle.turnLinkOf(threadId, run.id, internal[RunInternal.turn], [message]),
    })
    const outcome = await runs.commit(threadId, run.id, { ...plan, internal: { ...plan.internal, [USAGE_FIELD]: JSON.stringify(usage) } })
    if (!outcome.ok) return afterFailedCommit(outcome, threadId, run.id, ctx.fence)
    stream.finishMessage(message, step)
    live.emit(threadId, run.id, `thread.run.${finished.status}`, finished)
    live.end(threadId, run.id)
    return 'done'

    async function incomplete(reason: 'max_prompt_tokens' | 'max_completion_tokens', used: RunUsage): Promise<ItemResult> {
      const { plan, run: ended } = terminalPlan(loaded, 'incomplete', {
        project: ctx.project,
        now: nowSeconds(),
        fence: ctx.fence,
        from: ['in_progress'],
        run: { usage: used, incomplete_details: { reason } },
        turn: await stores.runLifecycle.turnLinkOf(threadId, run.id, internal[RunInternal.turn]),
      })
      const outcome = await runs.commit(threadId, run.id, plan)
      if (!outcome.ok) return afterFailedCommit(outcome, threadId, run.id, ctx.fence)
      live.emit(threadId, run.id, 'thread.run.incomplete', ended)
      live.end(threadId, run.id)
      return 'done'
    }
  }

  /** The function-calling rounds of this run so far, for the next prompt. */
  async function toolTurnsOf(project: string, run: Run): Promise<ToolTurn[]> {
    const page = await stores.runs.listSteps(project, run.thread_id, run.id, { limit: 100, order: 'asc' })
    return page.data.flatMap((s): ToolTurn[] =>
      s.step_details.type === 'tool_calls' && s.status === 'completed'
        ? [{
            toolCalls: s.step_details.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
            outputs: s.step_details.tool_calls.map((c) => ({ tool_call_id: c.id, output: c.function.output ?? '' })),
          }]
        : [],
    )
  }

  /** Emits OpenAI's streaming events for one model round as deltas arrive. */
  function createRoundStream(run: Run, messageId: string, stepId: string) {
    const threadId = run.thread_id
    let messageOpen = false
    let messageClosed = false
    let toolStepId: string | null = null
    let text = ''
    const now = () => nowSeconds()
    const openMessage = (): void => {
      if (messageOpen) return
      messageOpen = true
      const step = { ...stepOf(run, stepId, now(), { type: 'message_creation' as const, message_creation: { message_id: messageId } }, null), status: 'in_progress' as const, completed_at: null }
      live.emit(threadId, run.id, 'thread.run.step.created', step)
      live.emit(threadId, run.id, 'thread.run.step.in_progress', step)
      const message = { ...emptyAssistantMessage(run, messageId, now()), status: 'in_progress' as const, completed_at: null }
      live.emit(threadId, run.id, 'thread.message.created', message)
      live.emit(threadId, run.id, 'thread.message.in_progress', message)
    }
    const closeMessage = (): void => {
      if (!messageOpen || messageClosed) return
      messageClosed = true
      const t = now()
      const message: Message = { ...emptyAssistantMessage(run, messageId, t), content: [{ type: 'text', text: { value: text, annotations: [] } }] }
      live.emit(threadId, run.id, 'thread.message.completed', message)
      live.emit(threadId, run.id, 'thread.run.step.completed', stepOf(run, stepId, t, { type: 'message_creation', message_creation: { message_id: messageId } }, null))
    }
    let first = true
    return {
      text(delta: string): void {
        openMessage()
        text += delta
        live.emit(threadId, run.id, 'thread.message.delta', {
          id: messageId,
          object: 'thread.message.delta',
          delta: { content: [{ index: 0, type: 'text', text: first ? { value: delta, annotations: [] } : { value: delta } }] },
        })
        first = false
      },
      toolCall(delta: { index: number; id?: string; function: { name?: string; arguments: string } }): void {
        if (toolStepId === null) {
          closeMessage()
          toolStepId = newId('step')
          const step = { ...stepOf(run, toolStepId, now(), { type: 'tool_calls' as const, tool_calls: [] }, null), status: 'in_progress' as const, completed_at: null }
          live.emit(threadId, run.id, 'thread.run.step.created', step)
          live.emit(threadId, run.id, 'thread.run.step.in_progress', step)
        }
        live.emit(threadId, run.id, 'thread.run.step.delta', {
          id: toolStepId,
          object: 'thread.run.step.delta',
          delta: {
            step_details: {
              type: 'tool_calls',
              tool_calls: [{ index: delta.index, ...(delta.id ? { id: delta.id } : {}), type: 'function', function: { ...(delta.function.name !== undefined ? { name: delta.function.name } : {}), arguments: delta.function.arguments, ...(delta.id ? { output: null } : {}) } }],
            },
          },
        })
      },
      toolStepId: (): string => toolStepId ?? (toolStepId = newId('step')),
      finishToolCalls(_step: RunStep): void {
        closeMessage()
      },
      finishMessage(message: Message, step: RunStep): void {
        if (!messageOpen) openMessage()
        if (messageClosed) return
        messageClosed = true
        live.emit(threadId, run.id, message.status === 'incomplete' ? 'thread.message.incomplete' : 'thread.message.completed', message)
        live.emit(threadId, run.id, 'thread.run.step.completed', step)
      },
    }
  }
}

function stepOf(run: Run, id: string, now: number, details: RunStep['step_details'], usage: RunUsage | null): RunStep {
  return {
    id,
    object: 'thread.run.step',
    created_at: now,
    assistant_id: run.assistant_id,
    thread_id: run.thread_id,
    run_id: run.id,
    type: details.type,
    status: 'completed',
    step_details: details,
    last_error: null,
    expired_at: null,
    expires_at: run.expires_at,
    cancelled_at: null,
    failed_at: null,
    completed_at: now,
    metadata: {},
    usage,
  }
}

function emptyAssistantMessage(run: Run, id: string, now: number): Message {
  return {
    id,
    object: 'thread.message',
    created_at: now,
    thread_id: run.thread_id,
    status: 'completed',
    incomplete_details: null,
    completed_at: now,
    incomplete_at: null,
    role: 'assistant',
    content: [],
    assistant_id: run.assistant_id,
    run_id: run.id,
    attachments: [],
    metadata: {},
  }
}
