import {
  type Message,
  type MessageContent,
  type Run,
  type RunLastError,
  type RunStep,
  type RunUsage,
  type ToolCall,
  type Turn,
  newId,
  nowSeconds,
  stepForInclude,
} from '@threadwork/domain'
import {
  type BuiltPrompt,
  type ChatStreamResult,
  UpstreamError,
  buildPrompt,
  contextLengthExceeded,
  countTextTokens,
  streamChatCompletion,
  withUpstreamRetries,
} from '@threadwork/model-client'
import { type LoadedRun, RunInternal, terminalPlan, withTurn } from '@threadwork/storage'
import { type RoundStream, createRoundStream } from './round-stream.js'
import { emptyAssistantMessage, stepOf } from './run-objects.js'
import { promptTooLarge, replyReserve, tighterWindow } from './context-window.js'
import { withImageData } from './image-files.js'
import { loadHistory, rememberMessage } from './thread-history.js'
import type { BuiltinType } from './tools/builtin-tool.js'
import { codeOf } from './tools/code-interpreter.js'
import { executeBuiltins, offerBuiltins } from './tools/builtin-round.js'
import { annotateReply } from './tools/reply-annotations.js'
import { loadRunResources, noResources } from './tools/run-resources.js'
import { type RunToolHistory, loadRunToolHistory, withModelRecord } from './tools/run-tool-history.js'
import { toChatRequest } from './upstream-request.js'
import type { LiveEvents } from './live-events.js'
import { type ExecutorDeps, type ItemContext, type ItemResult, noteNextHead } from './run-executor.js'
import { afterFailedCommit } from './commit-outcome.js'

/** A round whose built-in calls were executed and committed: the run goes on with the next round's ids. */
export interface NextRound {
  loaded: LoadedRun
  ids: RoundIds
}
export interface RoundIds {
  messageId: string
  stepId: string
  toolStepId: string
}

export const USAGE_FIELD = '_usage'
export const ROUND_MESSAGE = '_msg_id'
export const ROUND_STEP = '_step_id'
/** The round's tool_calls step id, fixed like the message's so a re-run streams the same step. */
export const ROUND_TOOL_STEP = '_tool_step_id'

const zeroUsage: RunUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
const emptyToolHistory = (): RunToolHistory => ({
  turns: [],
  refs: { citations: new Map(), files: new Map() },
  pendingImages: [],
  ordinals: { file_search: 0, code_interpreter: 0 },
})
const addUsage = (a: RunUsage, b: RunUsage): RunUsage => ({
  prompt_tokens: a.prompt_tokens + b.prompt_tokens,
  completion_tokens: a.completion_tokens + b.completion_tokens,
  total_tokens: a.total_tokens + b.total_tokens,
})

/** What one round needs from the run's drive: who commits, the round's ids, the abort signal, and what it showed. */
export interface RoundContext {
  project: string
  fence: number
  item: string
  ids: RoundIds
  signal: AbortSignal
  /** Text streamed to clients this round, so a run ended mid-reply keeps it. */
  partial: { text: string }
  /** The round streaming now and the tool_calls step being executed, so an abort closes what they showed. */
  current: { round: RoundStream; toolStep: RunStep | null }
  /** Where this run's live events go, and whether anyone can read them (else commits append none). */
  live: LiveEvents
  streamed: boolean
  /** The run's turn as this worker started it (no need to read it again), if it did. */
  turn?: Turn
  /** The mailbox item's context: the terminal commit leaves the next head there. */
  itemContext: ItemContext
}

/**
 * One model round of a run: prompt (history, truncation, budgets), the upstream call with retries
 * and live events, then its one fenced commit — the answer (terminal), function calls
 * (`requires_action`), or executed built-in calls with the next round's ids (the run goes on).
 */
export function createRoundRunner(deps: ExecutorDeps) {
  const { stores, log } = deps
  const runs = stores.runs

  return async function runRound(loaded: LoadedRun, ctx: RoundContext): Promise<ItemResult | NextRound> {
    const { run, internal } = loaded
    const threadId = run.thread_id
    const usedSoFar: RunUsage = internal[USAGE_FIELD] ? JSON.parse(internal[USAGE_FIELD]) : zeroUsage
    // The turn this run answers, for its commit; a run with no committed round has no replies yet.
    const turnLink = (extra: Message[] = []) =>
      stores.runLifecycle.turnLinkOf(threadId, run.id, internal[RunInternal.turn], extra, { turn: ctx.turn, earlierReplies: internal[USAGE_FIELD] ? undefined : [] })

    const promptBudget = run.max_prompt_tokens !== null ? run.max_prompt_tokens - usedSoFar.prompt_tokens : null
    const completionBudget = run.max_completion_tokens !== null ? run.max_completion_tokens - usedSoFar.completion_tokens : null
    if (completionBudget !== null && completionBudget <= 0) return incomplete('max_completion_tokens', usedSoFar)
    const resolved = deps.router.resolve(run.model)
    if (!resolved) {
      const message =
        deps.router.providers().length === 0
          ? `No model provider is configured: set UPSTREAM_BASE_URL (and UPSTREAM_API_KEY) or PROVIDERS_FILE for the worker, then restart it.`
          : `The model '${run.model}' is not served by any configured provider.`
      throw new UpstreamError({ retryable: false, code: 'invalid_prompt', status: null, retryAfterMs: null, message })
    }
    // The model's own window (its route's setting, else CONTEXT_WINDOW_TOKENS): `auto` truncation
    // fits the thread into it; only the caller's max_prompt_tokens makes a run incomplete (issue 12 item 1).
    const contextWindow = resolved.provider.contextWindowFor(run.model)
    const reserve = replyReserve(contextWindow, completionBudget)

    const { messageId, stepId } = ctx.ids
    // Only a run past its first round has tool rounds to replay (saves a read per plain run).
    const tools = internal[USAGE_FIELD] ? await loadRunToolHistory(stores.redis, stores.keys, threadId, run.id) : emptyToolHistory()
    // The start's history page (a turn's first round), once: later rounds read their own.
    const firstPage = ctx.itemContext.historyHead
    ctx.itemContext.historyHead = undefined
    const history = await loadHistory(stores.redis, stores.keys, threadId, {
      known: ctx.itemContext.message,
      lastMessages: run.truncation_strategy.type === 'last_messages' ? run.truncation_strategy.last_messages : null,
      budgetTokens: Math.min(promptBudget ?? contextWindow, contextWindow),
      firstPage,
    })
    // Resources are read only for runs with built-in tools (two reads a round).
    const builtins = (deps.builtins ?? []).filter((b) => run.tools.some((t) => t.type === b.type))
    const resources = builtins.length > 0 ? await loadRunResources(stores, ctx.project, run, history) : noResources()
    const offer = offerBuiltins(builtins, run, resources, tools.turns.length, deps.maxToolRounds ?? 24)
    // Image files in user messages reach the model as image data (issue 12 item 11).
    const promptMessages = deps.readImage ? await withImageData(history, ctx.project, deps.readImage) : history
    const build = (windowTokens: number, reserveTokens: number) =>
      buildPrompt({
        instructions: run.instructions || null,
        additionalInstructions: internal[RunInternal.additionalInstructions] || null,
        messages: promptMessages,
        truncation: run.truncation_strategy,
        maxPromptTokens: promptBudget !== null ? Math.max(promptBudget, 0) : null,
        contextWindowTokens: windowTokens,
        reserveCompletionTokens: reserveTokens,
        toolTurns: tools.turns,
      })
    let prompt = build(contextWindow, reserve)
    if (!prompt.fits) {
      if (prompt.limitedBy === 'max_prompt_tokens') return incomplete('max_prompt_tokens', usedSoFar)
      return failed(promptTooLarge(run.model, contextWindow, prompt.promptTokens, reserve))
    }

    const stream = createRoundStream(ctx.live, run, { ...ctx.ids, fence: ctx.fence }, offer.names)
    ctx.current.round = stream
    // Once the model call below is on its way (setImmediate: after this turn of the loop sent it).
    if (ctx.streamed) setImmediate(stream.prepare)
    const call = (built: BuiltPrompt): Promise<ChatStreamResult> =>
      withUpstreamRetries(
        () =>
          streamChatCompletion({
            client: resolved.client,
            request: toChatRequest(run, built.chatMessages, completionBudget, {
              reasoningEffort: internal[RunInternal.reasoningEffort] || null,
              maxTokensParam: resolved.provider.settings.maxTokensParam,
              offered: offer.offered,
              firstRound: tools.turns.length === 0,
            }),
            signal: ctx.signal,
            headers: { 'x-threadwork-thread': threadId, 'x-threadwork-run': run.id },
            onTextDelta: (delta) => {
              ctx.partial.text += delta
              return stream.text(delta)
            },
            onToolCallDelta: stream.toolCall,
            idleTimeoutMs: deps.upstreamIdleTimeoutMs,
            // A stream without finish_reason was cut (issue 15), unless the route says its server omits it.
            requireFinishReason: !resolved.provider.settings.omitsFinishReason,
          }),
        { signal: ctx.signal, maxAttempts: deps.upstreamAttempts, onRetry: ({ failure }) => deps.onUpstreamError?.(failure.code, false) },
      )
    let result: ChatStreamResult
    try {
      result = await call(prompt)
    } catch (err) {
      // The provider's window is smaller than we thought: truncate tighter and try once more.
      const refused = ctx.partial.text === '' ? contextLengthExceeded(err) : null
      if (!refused) throw err
      const tighter = tighterWindow(contextWindow, prompt.promptTokens, completionBudget, refused.maxTokens)
      log.warn(
        { runId: run.id, threadId, model: run.model, contextWindow, providerWindow: refused.maxTokens, promptTokens: prompt.promptTokens },
        'provider refused the prompt as too long: truncating tighter, once',
      )
      prompt = build(tighter.buildWindow, tighter.reserve)
      if (!prompt.fits) return failed(promptTooLarge(run.model, tighter.window, prompt.promptTokens, tighter.reserve))
      try {
        result = await call(prompt)
      } catch (again) {
        if (ctx.partial.text === '' && contextLengthExceeded(again)) return failed(promptTooLarge(run.model, tighter.window, null, tighter.reserve))
        throw again
      }
    }
    // The commit waits until Redis has the reply's live appends (a round trip, on streamed runs only):
    // a reply that came at once otherwise has its commit built and run while Redis and the API
    // relay its first delta, on the same CPUs (issue 14).
    if (ctx.streamed) await stream.settled()
    // `parallel_tool_calls: false` promises at most one call, even from a provider that ignores it
    // (the round stream never showed the others either).
    if (!run.parallel_tool_calls) result.toolCalls.splice(1)

    const roundUsage: RunUsage = result.usage ?? {
      prompt_tokens: prompt.promptTokens,
      completion_tokens: countTextTokens(result.text + result.toolCalls.map((c) => c.name + c.arguments).join('')),
      total_tokens: 0,
    }
    roundUsage.total_tokens = roundUsage.prompt_tokens + roundUsage.completion_tokens
    const usage = addUsage(usedSoFar, roundUsage)
    const now = nowSeconds()
    const includeContent = internal[RunInternal.includeContent] === '1'
    // Images the code displayed since the run's last message belong to this reply (OpenAI's image_file parts).
    const imageParts = tools.pendingImages.map((file_id): MessageContent => ({ type: 'image_file', image_file: { file_id } }))
    const content: MessageContent[] = [{ type: 'text', text: { value: result.text, annotations: annotateReply(result.text, tools.refs) } }, ...imageParts]
    const textMessage: Message | null = result.text
      ? {
          id: messageId,
          object: 'thread.message',
          created_at: now,
          thread_id: threadId,
          status: 'completed',
          incomplete_details: null,
          completed_at: now,
          incomplete_at: null,
          role: 'assistant',
          content,
          assistant_id: run.assistant_id,
          run_id: run.id,
          attachments: [],
          metadata: {},
        }
      : null
    // A round's usage goes to its last step (the tool_calls step when it made calls), so the run's
    // steps add up to its usage; text written before calls is a message step of that round with none.
    const messageStep = textMessage
      ? stepOf(
          run,
          stepId,
          now,
          { type: 'message_creation', message_creation: { message_id: messageId } },
          result.toolCalls.length > 0 ? { ...zeroUsage } : roundUsage,
        )
      : null

    if (result.toolCalls.length > 0) {
      const toolStepId = stream.toolStepId
      // Shown as the step's calls if the run ends while they execute (cancel, expiry, a sandbox gone).
      ctx.current.toolStep =
        offer.names.size > 0 && result.toolCalls.some((c) => offer.names.has(c.name))
          ? {
              ...stepOf(run, toolStepId, now, { type: 'tool_calls', tool_calls: startedCalls(result.toolCalls, offer.names) }, null),
              status: 'in_progress',
              completed_at: null,
            }
          : null
      const { stepCalls, record } = await executeBuiltins(result.toolCalls, offer, {
        project: ctx.project,
        run,
        resources,
        signal: ctx.signal,
        ordinals: tools.ordinals,
        stream,
      })
      ctx.current.toolStep = null
      const functionCalls = result.toolCalls.filter((c) => !offer.names.has(c.name))
      const doneAt = nowSeconds()
      if (functionCalls.length === 0) {
        // Only built-in calls: their step is complete; the run goes on to its next round.
        const toolStep = withModelRecord(stepOf(run, toolStepId, doneAt, { type: 'tool_calls', tool_calls: stepCalls }, roundUsage), record)
        const next: RoundIds = { messageId: newId('msg'), stepId: newId('step'), toolStepId: newId('step') }
        const roundInternal = {
          [USAGE_FIELD]: JSON.stringify(usage),
          [ROUND_MESSAGE]: next.messageId,
          [ROUND_STEP]: next.stepId,
          [ROUND_TOOL_STEP]: next.toolStepId,
        }
        const outcome = await runs.commit(threadId, run.id, {
          project: ctx.project,
          fence: ctx.fence,
          from: ['in_progress'],
          run: { usage },
          internal: roundInternal,
          messages: textMessage ? [textMessage] : [],
          steps: [...(messageStep ? [messageStep] : []), toolStep],
          events: textMessage ? [{ type: 'thread.message.completed', data: textMessage }] : [],
          live: ctx.streamed ? { events: [...stream.finishToolCalls(), { event: 'thread.run.step.completed', data: stepForInclude(toolStep, includeContent) }] } : undefined,
        })
        if (!outcome.ok) return afterFailedCommit(stores, outcome, threadId, run.id, ctx.fence)
        return { loaded: { run: { ...run, usage }, internal: { ...internal, ...roundInternal } }, ids: next }
      }
      const toolStep: RunStep = withModelRecord(
        { ...stepOf(run, toolStepId, doneAt, { type: 'tool_calls', tool_calls: stepCalls }, null), status: 'in_progress', completed_at: null },
        record,
      )
      const waiting: Run = {
        ...run,
        status: 'requires_action',
        usage,
        required_action: {
          type: 'submit_tool_outputs',
          submit_tool_outputs: {
            tool_calls: functionCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
          },
        },
      }
      const link = await turnLink(textMessage ? [textMessage] : [])
      const outcome = await runs.commit(
        threadId,
        run.id,
        withTurn(
          {
            project: ctx.project,
            fence: ctx.fence,
            from: ['in_progress'],
            run: { status: 'requires_action', required_action: waiting.required_action, usage },
            internal: {
              [USAGE_FIELD]: JSON.stringify(usage),
              [RunInternal.openStep]: toolStepId,
              [RunInternal.openStepUsage]: JSON.stringify(roundUsage),
              [ROUND_MESSAGE]: '',
              [ROUND_STEP]: '',
              [ROUND_TOOL_STEP]: '',
            },
            messages: textMessage ? [textMessage] : [],
            steps: [...(messageStep ? [messageStep] : []), toolStep],
            events: [...(textMessage ? [{ type: 'thread.message.completed', data: textMessage }] : []), { type: 'thread.run.requires_action', data: waiting }],
            live: ctx.streamed ? { events: [...stream.finishToolCalls(), { event: 'thread.run.requires_action', data: waiting }], end: true } : undefined,
          },
          waiting,
          link,
          now,
        ),
      )
      if (!outcome.ok) return afterFailedCommit(stores, outcome, threadId, run.id, ctx.fence)
      await stores.redis.zrem(stores.keys.shardPending(threadId), threadId)
      return 'parked'
    }

    const cut = result.finishReason === 'length'
    const message: Message = textMessage
      ? cut
        ? { ...textMessage, status: 'incomplete', completed_at: null, incomplete_at: now, incomplete_details: { reason: 'max_tokens' } }
        : textMessage
      : // A model that says nothing after the code showed a chart: the reply is the chart alone.
        { ...emptyAssistantMessage(run, messageId, now), content: imageParts }
    const step = messageStep ?? stepOf(run, stepId, now, { type: 'message_creation', message_creation: { message_id: messageId } }, roundUsage)
    const { plan } = terminalPlan(loaded, cut ? 'incomplete' : 'completed', {
      project: ctx.project,
      now,
      fence: ctx.fence,
      from: ['in_progress'],
      run: { usage, ...(cut ? { incomplete_details: { reason: 'max_completion_tokens' as const } } : {}) },
      messages: [message],
      steps: [step],
      extraEvents: [{ type: cut ? 'thread.message.incomplete' : 'thread.message.completed', data: message }],
      liveEvents: stream.finishMessage(message, step),
      turn: await turnLink([message]),
    })
    const outcome = await runs.commit(threadId, run.id, { ...plan, internal: { ...plan.internal, [USAGE_FIELD]: JSON.stringify(usage) }, letGo: ctx.itemContext.wake })
    if (!outcome.ok) return afterFailedCommit(stores, outcome, threadId, run.id, ctx.fence)
    rememberMessage(stores.keys, threadId, message)
    noteNextHead(ctx.itemContext, outcome)
    return 'done'

    /** Ends the run `failed` with `lastError` (a prompt that cannot fit); nothing was streamed. */
    async function failed(lastError: RunLastError): Promise<ItemResult> {
      const outcome = await stores.runLifecycle.end(threadId, run.id, 'failed', { fence: ctx.fence, lastError, from: ['in_progress'] })
      return !outcome.ok && outcome.reason === 'fenced' ? 'fenced' : 'done'
    }

    async function incomplete(reason: 'max_prompt_tokens' | 'max_completion_tokens', used: RunUsage): Promise<ItemResult> {
      const { plan } = terminalPlan(loaded, 'incomplete', {
        project: ctx.project,
        now: nowSeconds(),
        fence: ctx.fence,
        from: ['in_progress'],
        run: { usage: used, incomplete_details: { reason } },
        turn: await turnLink(),
      })
      const outcome = await runs.commit(threadId, run.id, { ...plan, letGo: ctx.itemContext.wake })
      if (!outcome.ok) return afterFailedCommit(stores, outcome, threadId, run.id, ctx.fence)
      noteNextHead(ctx.itemContext, outcome)
      return 'done'
    }
  }
}

/** A round's calls as they stand before execution: code with no outputs yet, searches with no results. */
function startedCalls(calls: readonly { id: string; name: string; arguments: string }[], names: ReadonlyMap<string, BuiltinType>): ToolCall[] {
  return calls.map((c): ToolCall => {
    const type = names.get(c.name)
    if (type === 'code_interpreter') return { id: c.id, type, code_interpreter: { input: codeOf(c.arguments), outputs: [] } }
    if (type === 'file_search') return { id: c.id, type, file_search: {} }
    return { id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments, output: null } }
  })
}
