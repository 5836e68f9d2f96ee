import {
  ApiError,
  type Assistant,
  type Message,
  type Run,
  type RunSettings,
  TERMINAL_TURN_STATUSES,
  type Turn,
  type TurnCreateParams,
  newId,
  newMessage,
  newRun,
  nowSeconds,
} from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { RunInternal, type Stores, type WakeHint, runInternalSettings, turnOfFields } from '@threadwork/storage'
import { cachedAssistant, readAssistant } from '../assistant-cache.js'
import type { CancelRegistry } from '../cancel-registry.js'
import type { ItemContext, ItemResult } from '../run-executor.js'
import { ROUND_MESSAGE, ROUND_STEP, ROUND_TOOL_STEP } from '../run-round.js'
import { HISTORY_PAGE, rememberMessage } from '../thread-history.js'

export interface StartTurnDeps {
  stores: Stores
  log: Logger
  runExpiresAfterSeconds: number
  cancels: CancelRegistry
  executeRun: (threadId: string, runId: string, fence: number, item: string, known?: ItemContext) => Promise<ItemResult>
}

/** A turn and its assistant as read from a wake-up's hint (see `prefetchTurn`). */
export interface PrefetchedTurn {
  loaded: Awaited<ReturnType<Stores['turns']['load']>>
  /** The hinted assistant (null: not found); used only if the turn names this one in this project. */
  assistant: Assistant | null
  project: string
  assistantId: string
}

/** An assistant, or null when it does not exist (a 404); other errors propagate. */
const assistantOrNull = (stores: Stores, project: string, id: string): Promise<Assistant | null> =>
  readAssistant(stores.redis, stores.keys, project, id).catch((err) => {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  })

/**
 * Reads the turn and the assistant a wake-up's hint names, sent at once (behind the drain's claim
 * on the same connection, so they read what the claim saw or later): issue 14, two round trips
 * fewer before a turn's model call. Unused when the claim's head is another item; an unused
 * failure is not reported (the start reads again and meets it there).
 */
export function prefetchTurn(stores: Stores, threadId: string, hint: WakeHint): Promise<PrefetchedTurn> {
  const p = Promise.all([stores.turns.load(threadId, hint.turnId), assistantOrNull(stores, hint.project, hint.assistantId)]).then(
    ([loaded, assistant]) => ({ loaded, assistant, project: hint.project, assistantId: hint.assistantId }),
  )
  p.catch(() => {})
  return p
}

/**
 * The turn at the head of a thread's mailbox: if it is still queued, add its user message and
 * create its run now — after every earlier turn's answer, so the model sees them — then drive
 * the run. The run is created `in_progress` with its first round's message and step ids, so the
 * executor makes no start commit of its own (issue 14: one script and round trip fewer a turn).
 * A turn already started (a re-claim after a crash) goes straight to its run.
 */
export function createStartTurn(deps: StartTurnDeps) {
  const { stores } = deps
  return async function startTurn(threadId: string, turnId: string, fence: number, item: string, context: ItemContext = {}): Promise<ItemResult> {
    const pre = context.prefetched ? await context.prefetched : null
    const loaded = pre && pre.loaded?.turn.id === turnId ? pre.loaded : await stores.turns.load(threadId, turnId)
    if (!loaded || (TERMINAL_TURN_STATUSES as readonly string[]).includes(loaded.turn.status)) {
      await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
      return 'done'
    }
    const { turn, project } = loaded
    if (turn.status !== 'queued') return deps.executeRun(threadId, turn.run_id, fence, item, context)

    const request = loaded.request as TurnCreateParams
    const assistant =
      pre && pre.project === project && pre.assistantId === turn.assistant_id ? pre.assistant : await assistantOrNull(stores, project, turn.assistant_id)
    if (!assistant) {
      await stores.turns.endQueued({ project, checked: false }, threadId, turnId, 'failed', {
        code: 'invalid_prompt',
        message: `No assistant found with id '${turn.assistant_id}'.`,
      })
      return 'done'
    }

    const { message, run, runInternal } = turnStartOf(threadId, turn, request, assistant, item, deps.runExpiresAfterSeconds)

    // Registered before the run shows `in_progress`: the API publishes a cancel only after reading
    // `in_progress`, so registering after the start could miss a cancel sent in between.
    const controller = deps.cancels.register(run.id, threadId)
    // The first round's history page comes back with the start, read after its writes: no read,
    // nor round trip, of its own (thread-history.ts checks it).
    const starting = stores.turns.start({ project, fence, turn, message, run, runInternal, historyPage: HISTORY_PAGE })
    const history = starting.then((s) => (s.ok ? s.history : []))
    history.catch(() => {})
    const started = await starting
    if (!started.ok) {
      deps.cancels.release(run.id)
      if (started.reply === 'FENCED') return 'fenced'
      if (started.reply === 'GONE') {
        await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
        return 'done'
      }
      // Cancelled between our read and the start: the next loop pass sees its final status.
      return 'done'
    }
    noteStarted(stores, context, { project, message, run, runInternal, turn: started.turn, controller, history })
    return deps.executeRun(threadId, run.id, fence, item, context)
  }
}

/** What a turn's start stores besides the turn: its user message, its run and the run's internal fields. */
interface TurnStart {
  message: Message
  run: Run
  runInternal: Record<string, string>
}

/**
 * The user message and the run (`in_progress`, its first round's message and step ids fixed) that
 * start `turn` (queued, at the head as `item`) with `request` and `assistant`. Reads of the
 * assistant only its id and domain `RUN_ASSISTANT_FIELDS` (what a cached one is checked on).
 */
export function turnStartOf(threadId: string, turn: Turn, request: TurnCreateParams, assistant: Assistant, item: string, runExpiresAfterSeconds: number): TurnStart {
  const now = nowSeconds()
  const message: Message = newMessage({
    id: turn.message_id,
    threadId,
    createdAt: now,
    params: { role: 'user', content: request.content, attachments: request.attachments ?? [], metadata: {} },
  })
  const { additional_instructions: _i, reasoning_effort: _r, ...settings } = request.run ?? {}
  const queued = newRun({ id: turn.run_id, threadId, assistant, settings: settings as RunSettings, createdAt: now, expiresAfterSeconds: runExpiresAfterSeconds })
  const run = { ...queued, status: 'in_progress' as const, started_at: now }
  // A turn is answered by callback or polling: nobody reads its run's live stream.
  const runInternal: Record<string, string> = {
    [RunInternal.item]: item,
    [RunInternal.turn]: turn.id,
    [RunInternal.live]: '0',
    ...runInternalSettings(request.run ?? {}, assistant),
    [ROUND_MESSAGE]: newId('msg'),
    [ROUND_STEP]: newId('step'),
    [ROUND_TOOL_STEP]: newId('step'),
  }
  return { message, run, runInternal }
}

/**
 * After a start stored them: the message goes to the message cache, and the item's context gets
 * what the executor would otherwise read (the run and turn as stored, the message, the cancel
 * registration, the first round's history page returned with the start).
 */
function noteStarted(
  stores: Stores,
  context: ItemContext,
  s: TurnStart & { project: string; turn: Turn; controller: AbortController; history: Promise<string[]> },
): void {
  rememberMessage(stores.keys, s.message.thread_id, s.message)
  // Driven from here on, the run is kept out of the deadlines set until it parks (startTurn-7.lua). The run and the
  // turn are what the script just stored: the executor does not read them again.
  context.loaded = { run: s.run, internal: { ...s.runInternal, [RunInternal.project]: s.project } }
  context.turn = s.turn
  context.message = s.message
  context.started = s.controller
  context.historyHead = { ids: s.history, newest: s.message.id }
}

/** A drain's claim made together with its first turn's start (`claimAndStartTurn`). */
export interface ClaimedWithStart {
  fence: number
  /** The mailbox head under that fence (null: empty). */
  head: string | null
  /** Set when the head turn was started in the same step: its item's context, ready for `executeRun`. */
  context?: ItemContext
}

/**
 * Claims a woken thread and starts the turn its wake-up names in one step (storage
 * `turns.claimAndStart`): issue 14, one round trip between the wake-up and the model call instead
 * of two, and neither the turn nor the assistant read. Possible when the wake-up carries the turn
 * (small enough: storage `WAKE_ENTRY_TURN_MAX_CHARS`) and this process has read the assistant
 * before: the script starts only if that copy is still what the run is made of, the turn still
 * queued and at the head. Returns null when not possible (and on a Cluster, where the assistant is
 * in another slot): the drain claims and reads as before. A claim without the start (`context`
 * unset) is a claim like `runs.claim`'s.
 */
export function createClaimAndStartTurn(deps: Pick<StartTurnDeps, 'stores' | 'cancels' | 'runExpiresAfterSeconds'>) {
  const { stores } = deps
  return function claimAndStartTurn(threadId: string, hint: WakeHint, wake?: string): Promise<ClaimedWithStart> | null {
    if (!hint.turn || !stores.turns.checksAssistant) return null
    const cached = cachedAssistant(stores.keys, hint.project, hint.assistantId)
    if (!cached) return null
    let turn: Turn
    let request: TurnCreateParams
    try {
      const parsed = turnOfFields(hint.turn, hint.project)
      turn = parsed.turn
      request = parsed.request as TurnCreateParams
    } catch {
      return null
    }
    if (turn.id !== hint.turnId || turn.thread_id !== threadId || turn.assistant_id !== hint.assistantId || turn.status !== 'queued') return null
    const item = `turn:${turn.id}`
    const start = turnStartOf(threadId, turn, request, cached.assistant, item, deps.runExpiresAfterSeconds)
    // Registered before the start, as startTurn does (a cancel published once `in_progress` is read).
    const controller = deps.cancels.register(start.run.id, threadId)
    return stores.turns.claimAndStart({ project: hint.project, turn, ...start, historyPage: HISTORY_PAGE, assistant: cached.check }).then(
      (reply): ClaimedWithStart => {
        if (!reply.started) {
          deps.cancels.release(start.run.id)
          return { fence: reply.fence, head: reply.head }
        }
        const context: ItemContext = { wake }
        noteStarted(stores, context, { ...start, project: hint.project, turn: reply.turn, controller, history: Promise.resolve(reply.history) })
        return { fence: reply.fence, head: item, context }
      },
      (err: unknown) => {
        deps.cancels.release(start.run.id)
        throw err
      },
    )
  }
}
