import { type Message, type Run, type RunStep, type Turn, isTerminalRunStatus, newId, nowSeconds } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { type ProviderRouter, StreamInterruptedError, UpstreamError } from '@threadwork/model-client'
import { type CommitOutcome, type LoadedRun, RunInternal, type Stores, isLiveRun } from '@threadwork/storage'
import { type CancelRegistry, RunAborted } from './cancel-registry.js'
import { type LiveEvents, createDroppedLiveEvents } from './live-events.js'
import { type RoundStream, createRoundStream } from './round-stream.js'
import { emptyAssistantMessage, stepOf } from './run-objects.js'
import type { ReadFile } from './image-files.js'
import { type BuiltinTool, ToolUnavailableError } from './tools/builtin-tool.js'
import { afterFailedCommit } from './commit-outcome.js'
import { createRunWatch } from './run-watch.js'
import type { PrefetchedTurn } from './processors/start-turn.js'
import { ROUND_MESSAGE, ROUND_STEP, ROUND_TOOL_STEP, type RoundIds, createRoundRunner } from './run-round.js'

/** What happened to a mailbox item: finished, waiting on the client, or no longer ours. */
export type ItemResult = 'done' | 'parked' | 'fenced' | 'handed_back'

/**
 * One mailbox item's context, shared between the drain and the item's processing: what the caller
 * just wrote under this claim (a turn starting its run), so it is not read again, and what the
 * item's popping commit tells the drain.
 */
export interface ItemContext {
  /** The run as just stored, with its internal fields. */
  loaded?: LoadedRun
  /** The run's turn as just stored. */
  turn?: Turn
  /** The turn's user message as just stored: the history read takes it from here, not from Redis. */
  message?: Message
  /** Set by the commit that popped the item: the mailbox head after it (null: empty), under the claim's fence. */
  nextHead?: string | null
  /** The wake-up entry the drain holds: a popping commit that empties the mailbox lets it go (`CommitPlan.letGo`). */
  wake?: string
  /** Set by that commit when it let the entry go: the drain is over, with nothing left to release. */
  released?: boolean
  /**
   * The run was just stored `in_progress` with its round ids under this claim (a turn's start), and
   * registered for cancels with this controller: no start commit is made.
   */
  started?: AbortController
  /** The head turn and its assistant, read beside the claim from the wake-up's hint (start-turn.ts `prefetchTurn`). */
  prefetched?: Promise<PrefetchedTurn>
  /**
   * The thread's newest message ids (up to 100), returned by the start that added message `newest`
   * (startTurn-7.lua), so the first round's history needs no read of its own; used only if
   * `newest` heads them (thread-history.ts).
   */
  historyHead?: { ids: Promise<string[]>; newest: string }
}

/** Remembers the next mailbox head a popping commit returned (see `ItemContext.nextHead`). */
export function noteNextHead(item: ItemContext, outcome: CommitOutcome): void {
  if (outcome.ok && outcome.next !== undefined) item.nextHead = outcome.next
  if (outcome.ok && outcome.released) item.released = true
}

export interface ExecutorDeps {
  stores: Stores
  router: ProviderRouter
  /** Where a streamed run's live events go (its `stream: true` reader). */
  live: LiveEvents
  /**
   * Where the live events of runs nobody can stream go (turns, runs created without `stream: true`):
   * nothing is written to Redis for them; metrics may still watch them. Default: dropped.
   */
  unreadLive?: LiveEvents
  cancels: CancelRegistry
  log: Logger
  upstreamAttempts: number
  /** Called on every model-provider error (metrics): `final` false before a retry, true when it fails the run. */
  onUpstreamError?: (code: string, final: boolean) => void
  /** A stream that sends nothing for this long is given up (the SDK timeout covers only the headers). */
  upstreamIdleTimeoutMs?: number
  /** How often a running run re-reads its status: the backstop for a cancel whose pub/sub message was lost. */
  statusCheckMs?: number
  /** The built-in tools (file_search, code_interpreter) this worker executes; none: they are not offered. */
  builtins?: readonly BuiltinTool[]
  /** Reads an image File for the model (user messages' `image_file` parts); none: they stay placeholders. */
  readImage?: ReadFile
  /** Tool rounds a run may make before the model is made to answer (a model looping on tools). Default 24. */
  maxToolRounds?: number
}

/**
 * Drives one run from `queued` to a terminal status or `requires_action`. Each model round ends in
 * one fenced commit: an answer ends the run; function calls park it in `requires_action` (a run
 * resumed after tool outputs comes back here); built-in calls (file_search, code_interpreter) are
 * executed here, their completed `tool_calls` step committed with the next round's ids, and the
 * next round follows at once. So an attempt superseded after a lost lock writes nothing, and since
 * a round's message and step ids are fixed on the run before its model call, a re-run after a
 * crash redoes only the round in progress and writes the same message and steps, never a second.
 */
export function createRunExecutor(deps: ExecutorDeps) {
  const { stores, cancels, log } = deps
  const unreadLive = deps.unreadLive ?? createDroppedLiveEvents()
  const runs = stores.runs
  const runRound = createRoundRunner(deps)
  // Expiry and the status re-read of every run driven here, on one timer (run-watch.ts).
  const watch = createRunWatch({
    abort: (runId, reason) => cancels.abort(runId, reason),
    readStatus: (threadId, runId) => stores.redis.hget(stores.keys.run(threadId, runId), 'status'),
    statusCheckMs: deps.statusCheckMs ?? 3000,
  })

  return async function executeRun(threadId: string, runId: string, fence: number, item: string, known: ItemContext = {}): Promise<ItemResult> {
    const loaded = known.loaded ?? (await runs.load(threadId, runId))
    if (!loaded) {
      // The run (or its thread) was deleted: drop the stale item.
      await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
      return 'done'
    }
    const { run, internal } = loaded
    const project = internal[RunInternal.project] ?? ''
    // Deltas and live events only for a run a `stream: true` response can read (issue 14).
    const streamed = isLiveRun(internal)
    const live = streamed ? deps.live : unreadLive
    const now = nowSeconds()

    if (isTerminalRunStatus(run.status)) {
      const outcome = await runs.commit(threadId, runId, { project, fence, from: [run.status], pop: item, release: true })
      noteNextHead(known, outcome)
      return outcome.ok || outcome.reason !== 'fenced' ? 'done' : 'fenced'
    }
    if (run.status === 'requires_action') {
      // Parked until tool outputs arrive (submit_tool_outputs re-adds a drain); no queue slot is held.
      await stores.redis.zrem(stores.keys.shardPending(threadId), threadId)
      return 'parked'
    }
    if (run.status === 'cancelling') return settle(await stores.runLifecycle.end(threadId, runId, 'cancelled', { fence, from: ['cancelling'] }))
    if (run.expires_at !== null && now >= run.expires_at) {
      if (known.started) cancels.release(runId)
      return settle(await stores.runLifecycle.end(threadId, runId, 'expired', { fence }))
    }

    // queued (or in_progress again after a crash): fix this round's ids, then start.
    let ids: RoundIds = {
      messageId: internal[ROUND_MESSAGE] || newId('msg'),
      stepId: internal[ROUND_STEP] || newId('step'),
      toolStepId: internal[ROUND_TOOL_STEP] || newId('step'),
    }
    const started: Run = { ...run, status: 'in_progress', started_at: run.started_at ?? now }
    // Registered before the run shows `in_progress`: the API publishes a cancel only after reading
    // `in_progress`, so registering after the commit could miss a cancel sent in between, and the
    // run would sit in `cancelling` until the model call ended (minutes, for a hanging upstream).
    const controller = known.started ?? cancels.register(runId, threadId)
    // A turn's run was stored `in_progress` with these ids by its start (start-turn.ts): no commit.
    const start = known.started ? ({ ok: true } as const) : await runs.commit(threadId, runId, {
      project,
      fence,
      from: ['queued', 'in_progress'],
      run: { status: 'in_progress', started_at: started.started_at },
      internal: { [ROUND_MESSAGE]: ids.messageId, [ROUND_STEP]: ids.stepId, [ROUND_TOOL_STEP]: ids.toolStepId },
      // With the status, atomically; a re-run after a crash (already in_progress) does not repeat it.
      live: streamed && run.status === 'queued' ? { events: [{ event: 'thread.run.in_progress', data: started }] } : undefined,
    })
    if (!start.ok) {
      cancels.release(runId)
      return afterFailedCommit(stores, start, threadId, runId, fence)
    }
    // The round streaming now (replaced by each round), so an abort closes what it showed.
    const current: { round: RoundStream; toolStep: RunStep | null } = { round: createRoundStream(live, started, { ...ids, fence }), toolStep: null }

    // Text streamed to clients this round, so a run ended mid-reply keeps it (see `inFlightReply`).
    const partial = { text: '' }
    // Ended `expired` at its expires_at; a cancel whose pub/sub message was lost (Redis reconnect) is
    // still seen by re-reading the status now and then.
    const unwatch = watch.watch(runId, threadId, started.expires_at !== null ? started.expires_at * 1000 : null)
    try {
      let state: LoadedRun = { ...loaded, run: started }
      for (;;) {
        partial.text = ''
        const outcome = await runRound(state, { project, fence, item, ids, signal: controller.signal, partial, current, live, streamed, turn: known.turn, itemContext: known })
        if (typeof outcome === 'string') return outcome
        state = outcome.loaded
        ids = outcome.ids
      }
    } catch (err) {
      const reason = err instanceof RunAborted ? err.reason : controller.signal.reason instanceof RunAborted ? controller.signal.reason.reason : null
      // Hand the thread back: its wake-up consumer passes the thread to another worker at once,
      // which re-claims it and re-runs this round.
      if (reason === 'shutdown') return 'handed_back'
      const inFlight = inFlightReply(started, ids.messageId, ids.stepId, partial.text)
      // Built-in calls being executed: their step is stored ended like the run (its live close comes with it).
      const inFlightToolStep = current.toolStep
      const round = { abandon: (to: 'failed' | 'cancelled' | 'expired') => (inFlightToolStep ? [] : current.round.abandon(to)) }
      if (reason === 'cancelled') {
        return settle(
          await stores.runLifecycle.end(threadId, runId, 'cancelled', {
            fence,
            from: ['cancelling', 'in_progress'],
            inFlight,
            inFlightToolStep,
            liveBefore: round.abandon('cancelled'),
          }),
        )
      }
      if (reason === 'expired')
        return settle(await stores.runLifecycle.end(threadId, runId, 'expired', { fence, inFlight, inFlightToolStep, liveBefore: round.abandon('expired') }))
      const lastError =
        err instanceof UpstreamError
          ? { code: err.code, message: err.message }
          : err instanceof ToolUnavailableError
            ? { code: 'server_error' as const, message: err.message }
            : {
                code: 'server_error' as const,
                message: err instanceof StreamInterruptedError ? 'The model stream was interrupted.' : 'Sorry, something went wrong.',
              }
      if (err instanceof UpstreamError) {
        deps.onUpstreamError?.(err.code, true)
        // The client's last_error is deliberately vague; the operator needs the cause (an unreachable
        // UPSTREAM_BASE_URL, a wrong key, an unknown model) to fix it.
        log.warn(
          { runId, threadId, model: started.model, code: err.code, status: err.status, attempts: err.attempts, cause: err.describeCause() },
          'run failed: the model call failed',
        )
      } else if (err instanceof ToolUnavailableError) log.warn({ err: err.message, runId, threadId }, 'built-in tool unavailable')
      else log.error({ err, runId, threadId }, 'run failed')
      return settle(
        await stores.runLifecycle.end(threadId, runId, 'failed', {
          fence,
          lastError,
          from: ['in_progress'],
          inFlight,
          inFlightToolStep,
          liveBefore: round.abandon('failed'),
        }),
      )
    } finally {
      unwatch()
      cancels.release(runId)
    }

    /** After a lifecycle commit (which also wrote its live events): 'fenced' stops the drain, anything else moves on. */
    function settle(outcome: CommitOutcome & { run?: Run }): ItemResult {
      noteNextHead(known, outcome)
      if (!outcome.ok && outcome.reason === 'fenced') return 'fenced'
      return 'done'
    }
  }
}

/**
 * The round's reply as far as it was streamed, still open (`in_progress`), for a run that ends
 * mid-reply (cancel, expiry, failure): the lifecycle stores it closed as `incomplete` with reason
 * `run_<status>` (OpenAI: "any in-flight message ends incomplete"). Null when nothing was streamed.
 */
function inFlightReply(run: Run, messageId: string, stepId: string, text: string): { message: Message; step: RunStep } | null {
  if (text === '') return null
  const now = nowSeconds()
  return {
    message: {
      ...emptyAssistantMessage(run, messageId, now),
      status: 'in_progress',
      completed_at: null,
      content: [{ type: 'text', text: { value: text, annotations: [] } }],
    },
    step: {
      ...stepOf(run, stepId, now, { type: 'message_creation', message_creation: { message_id: messageId } }, null),
      status: 'in_progress',
      completed_at: null,
    },
  }
}
