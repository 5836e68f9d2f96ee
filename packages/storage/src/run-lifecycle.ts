import { Message, type Run, type RunLastError, type RunStatus, RunStep, Turn, nowSeconds } from '@threadwork/domain'
import { decodeFields } from './codec.js'
import type { Keys } from './keys.js'
import { RunInternal, type TerminalStatus, type TurnLink, closeOpenMessage, closeOpenStep, terminalPlan } from './run-plans.js'
import type { CommitOutcome, LiveAppend, RunStore } from './run-store.js'
import type { RedisClient } from './scripts.js'

export type RunLifecycle = ReturnType<typeof createRunLifecycle>

/**
 * Ends a run that nobody is driving to completion any more — cancelled while queued or waiting for
 * tool outputs, expired, or failed for good — closing whatever step or message it left open.
 * Both the API (unfenced) and a draining worker (fenced) use it.
 */
export function createRunLifecycle(redis: RedisClient, k: Keys, runs: RunStore) {
  async function readOpen<T>(key: string, parse: (raw: Record<string, unknown>) => T): Promise<T | null> {
    const raw = await redis.hgetall(key)
    return raw && Object.keys(raw).length ? parse(decodeFields(raw)) : null
  }

  /**
   * The turn a run answers, with the run's replies so far, when the run was started by a turn.
   * `known` skips reads whose answer the caller has: the turn as this worker started it (nothing
   * else writes it while the run is in progress), and `earlierReplies: []` for a run that has
   * committed no round yet (its message list is empty).
   */
  async function turnLinkOf(
    threadId: string,
    runId: string,
    turnId: string | undefined,
    extra: Message[] = [],
    known: { turn?: Turn; earlierReplies?: [] } = {},
  ): Promise<TurnLink | null> {
    if (!turnId) return null
    const turnKey = k.turn(threadId, turnId)
    // Read side by side: this sits between a run's last model token and its commit.
    const [turn, ids] = await Promise.all([
      known.turn?.id === turnId ? known.turn : readOpen(turnKey, (r) => Turn.parse(r)),
      known.earlierReplies ?? redis.zrange(k.runMessages(threadId, runId), 0, -1),
    ])
    if (!turn) return null
    const pending = ids.filter((id) => !extra.some((e) => e.id === id))
    const read = await Promise.all(pending.map((id) => readOpen(k.message(threadId, id), (r) => Message.parse(r))))
    const replies = read.filter((m): m is Message => m !== null)
    return { turn, key: turnKey, replies: [...replies, ...extra] }
  }

  return {
    turnLinkOf,

    async end(
      threadId: string,
      runId: string,
      to: Exclude<TerminalStatus, 'completed' | 'incomplete'>,
      opts: {
        fence?: number
        lastError?: RunLastError
        from?: readonly RunStatus[]
        /** Live-only events shown first (the worker closing the message it was streaming). */
        liveBefore?: LiveAppend['events']
        /**
         * The reply a worker was streaming when the run ended, not stored yet (a worker writes its
         * message only when the round ends): stored closed like an open one, so the text the client
         * already saw survives as an `incomplete` message with reason `run_<status>`, as OpenAI's
         * does ("any in-flight message ends incomplete"), under a step ended like the run.
         */
        inFlight?: { message: Message; step: RunStep } | null
        /**
         * A tool_calls step whose built-in calls the worker was executing when the run ended (not
         * stored yet): stored ended like the run, with the calls as far as they got.
         */
        inFlightToolStep?: RunStep | null
      } = {},
    ): Promise<CommitOutcome & { run?: Run }> {
      const loaded = await runs.load(threadId, runId)
      if (!loaded) return { ok: false, reason: 'gone' }
      const now = nowSeconds()
      const openStepId = loaded.internal[RunInternal.openStep]
      const openMessageId = loaded.internal[RunInternal.openMessage]
      const step = opts.inFlight?.step ?? (openStepId ? await readOpen(k.step(threadId, openStepId), (r) => RunStep.parse(r)) : null)
      const message = opts.inFlight?.message ?? (openMessageId ? await readOpen(k.message(threadId, openMessageId), (r) => Message.parse(r)) : null)
      const closedMessage = message && message.status === 'in_progress' ? closeOpenMessage(message, to, now) : null
      const closedStep = step && step.status === 'in_progress' ? closeOpenStep(step, to, now) : null
      const toolStep = opts.inFlightToolStep ? closeOpenStep(opts.inFlightToolStep, to, now) : null
      const closedSteps = [closedStep, toolStep].filter((s): s is RunStep => s !== null)
      const { plan, run } = terminalPlan(loaded, to, {
        project: loaded.internal[RunInternal.project] ?? '',
        now,
        fence: opts.fence,
        from: opts.from,
        run: opts.lastError ? { last_error: opts.lastError } : {},
        steps: closedSteps,
        messages: closedMessage ? [closedMessage] : [],
        extraEvents: closedMessage ? [{ type: 'thread.message.incomplete', data: closedMessage }] : [],
        liveEvents: [
          ...(opts.liveBefore ?? []),
          ...(closedMessage ? [{ event: 'thread.message.incomplete', data: closedMessage }] : []),
          ...closedSteps.map((s) => ({ event: `thread.run.step.${s.status}`, data: s })),
        ],
        turn: await turnLinkOf(threadId, runId, loaded.internal[RunInternal.turn], closedMessage ? [closedMessage] : []),
      })
      const outcome = await runs.commit(threadId, runId, plan)
      return outcome.ok ? { ...outcome, run } : outcome
    },
  }
}
