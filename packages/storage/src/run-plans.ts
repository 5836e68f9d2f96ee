import { ACTIVE_RUN_STATUSES, type Message, type Run, type RunStatus, type RunStep, type Turn, allowedFrom } from '@threadwork/domain'
import type { CommitPlan, LiveAppend, LoadedRun, OutboxEvent } from './run-store.js'
import { followRun, turnEventData } from './turn-store.js'

export type TerminalStatus = 'completed' | 'incomplete' | 'failed' | 'cancelled' | 'expired'

/** Internal run fields (raw strings on the run hash). */
export const RunInternal = {
  project: '_project',
  /** The mailbox item this run occupies: `run:<id>` or `turn:<id>`. */
  item: '_item',
  /** Id of a written step still `in_progress` (a tool_calls step awaiting outputs, or a message step). */
  openStep: '_open_step',
  /** Id of a written message still `in_progress`. */
  openMessage: '_open_msg',
  additionalInstructions: '_additional_instructions',
  /**
   * The run's effective `reasoning_effort` (the run's, else the assistant's), sent to the model;
   * internal because OpenAI's run object has no such field.
   */
  reasoningEffort: '_reasoning_effort',
  /** The turn this run answers, if it was started by one. */
  turn: '_turn',
  /** '1' when the run was created with `include[]` asking for file_search result content (live step events show it). */
  includeContent: '_include_content',
  /** The usage of the model round whose tool_calls step waits for outputs (the step carries it once completed). */
  openStepUsage: '_open_step_usage',
  /**
   * '0' when nobody can read the run's live stream (not created, nor last continued, with
   * `stream: true`; turns): its commits and the worker append no live events. Absent (runs stored
   * before the flag existed) counts as live.
   */
  live: '_live',
  /**
   * '1' when the run took the thread's lock (`_active_run`) as it started (a turn's run,
   * startTurn-7.lua): its releasing commit then drops the lock without reading it first. '0' or
   * absent: the commit compares `_active_run` with the run first.
   */
  lock: '_lock',
  /**
   * '0' for a run kept out of the shard's deadlines set while a drain drives it (a turn's run,
   * startTurn-7.lua); it joins the set when it parks (`requires_action`), then '1'. Absent: in the
   * set since it was created (createRun-5.lua).
   */
  deadlines: '_dl',
} as const

/** Whether a run's live event stream can have a reader (see `RunInternal.live`). */
export const isLiveRun = (internal: Record<string, string>): boolean => internal[RunInternal.live] !== '0'

/**
 * The internal fields a new run carries beside its wire object: the settings the model needs that
 * OpenAI's run object does not show (`additional_instructions`; `reasoning_effort`, the run's
 * else the assistant's). Used by every path that creates a run (create-run, create-thread-and-run, turns).
 */
export function runInternalSettings(
  params: { additional_instructions?: string | null; reasoning_effort?: string | null },
  assistant: { reasoning_effort?: string | null },
): Record<string, string> {
  const internal: Record<string, string> = {}
  if (params.additional_instructions) internal[RunInternal.additionalInstructions] = params.additional_instructions
  const effort = params.reasoning_effort ?? assistant.reasoning_effort
  if (effort) internal[RunInternal.reasoningEffort] = effort
  return internal
}

/** A turn that follows its run: where it is stored and the assistant's replies so far. */
export interface TurnLink {
  turn: Turn
  key: string
  /** Every assistant message of the run (earlier rounds included), for the event's `data`. */
  replies: Message[]
}

/**
 * Makes a commit carry the turn along: the turn's status/end/error follow the run, and
 * `thread.turn.<status>` is recorded with the turn, its run and the assistant's replies.
 */
export function withTurn(plan: CommitPlan, run: Run, link: TurnLink | null | undefined, now: number): CommitPlan {
  if (!link) return plan
  const turn = followRun(link.turn, run, now)
  const events = [...(plan.events ?? [])]
  if (turn.status !== link.turn.status && turn.status !== 'in_progress') {
    events.push({ type: `thread.turn.${turn.status}`, data: turnEventData(turn, run, link.replies), callbackUrl: turn.callback_url })
  }
  return {
    ...plan,
    patches: [...(plan.patches ?? []), { key: link.key, fields: { status: turn.status, completed_at: turn.completed_at, last_error: turn.last_error } }],
    events,
  }
}

const stepStatusFor: Record<TerminalStatus, RunStep['status']> = {
  completed: 'completed',
  incomplete: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  expired: 'expired',
}
const messageReasonFor = { failed: 'run_failed', cancelled: 'run_cancelled', expired: 'run_expired' } as const

export interface TerminalOptions {
  project: string
  now: number
  fence?: number
  /** Fields to set beyond status and its timestamp (usage, last_error, incomplete_details). */
  run?: Partial<Run>
  messages?: Message[]
  steps?: RunStep[]
  /** Partial updates of already-written objects (close an open step or message). */
  extraEvents?: OutboxEvent[]
  from?: readonly RunStatus[]
  turn?: TurnLink | null
  /**
   * What the run's live stream shows before `thread.run.<status>` and `done`. Default: the
   * `extraEvents`, then `thread.run.step.<status>` for each of `steps`.
   */
  liveEvents?: LiveAppend['events']
}

/**
 * The commit that ends a run: status and timestamp, open step and message closed, the thread's
 * mailbox item popped and the thread released, with `thread.run.<status>` recorded. Used by the
 * worker (fenced) and by the API for cancel and expiry (unfenced).
 */
export function terminalPlan(loaded: LoadedRun, to: TerminalStatus, o: TerminalOptions): { plan: CommitPlan; run: Run } {
  const stamp: Partial<Run> =
    to === 'completed' || to === 'incomplete'
      ? { completed_at: o.now, expires_at: null }
      : to === 'failed'
        ? { failed_at: o.now, expires_at: null }
        : to === 'cancelled'
          ? { cancelled_at: o.now, expires_at: null }
          : {}
  const runFields: Partial<Run> = { status: to, required_action: null, ...stamp, ...o.run }
  const run: Run = { ...loaded.run, ...runFields }
  const plan: CommitPlan = {
    project: o.project,
    fence: o.fence,
    from: o.from ?? allowedFrom(to).filter((s) => (ACTIVE_RUN_STATUSES as readonly string[]).includes(s)),
    run: runFields,
    internal: { [RunInternal.openStep]: '', [RunInternal.openMessage]: '' },
    messages: o.messages,
    steps: o.steps,
    pop: loaded.internal[RunInternal.item] || `run:${loaded.run.id}`,
    release: true,
    events: [...(o.extraEvents ?? []), { type: `thread.run.${to}`, data: run }],
    live: !isLiveRun(loaded.internal) ? undefined : {
      events: [
        ...(o.liveEvents ?? [
          ...(o.extraEvents ?? []).map((e) => ({ event: e.type, data: e.data })),
          ...(o.steps ?? []).map((step) => ({ event: `thread.run.step.${step.status}`, data: step })),
        ]),
        { event: `thread.run.${to}`, data: run },
      ],
      end: true,
    },
  }
  return { plan: withTurn(plan, run, o.turn, o.now), run }
}

/** The partial write closing a step that was left open, for terminal statuses that end it early. */
export function closeOpenStep(step: RunStep, to: TerminalStatus, now: number): RunStep {
  const status = stepStatusFor[to]
  return {
    ...step,
    status,
    ...(status === 'completed' ? { completed_at: now } : {}),
    ...(status === 'failed' ? { failed_at: now } : {}),
    ...(status === 'cancelled' ? { cancelled_at: now } : {}),
    ...(status === 'expired' ? { expired_at: now } : {}),
  }
}

/** Closes an `in_progress` message when its run ends without completing it. */
export function closeOpenMessage(message: Message, to: Exclude<TerminalStatus, 'completed' | 'incomplete'>, now: number): Message {
  return { ...message, status: 'incomplete', incomplete_at: now, incomplete_details: { reason: messageReasonFor[to] } }
}
