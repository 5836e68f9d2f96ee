import {
  ApiError,
  type ListPage,
  type ListQuery,
  type Message,
  type Run,
  Turn,
  type TurnStatus,
  newId,
  nowSeconds,
} from '@threadwork/domain'
import { Cluster } from 'ioredis'
import type { AssistantStamp } from './assistant-store.js'
import { decodeFields, encodeFields, flatFields } from './codec.js'
import type { Keys } from './keys.js'
import endQueuedTurnLua from './lua/endQueuedTurn-4.lua'
import createTurnLua from './lua/createTurn-7.lua'
import startTurnLua from './lua/startTurn-7.lua'
import { listPage } from './paginate.js'
import { queuedTurnFields } from './thread-wakeups.js'
import { type RedisClient, runScript, script } from './scripts.js'

const createTurnScript = script('createTurn', createTurnLua)
const startTurnScript = script('startTurn', startTurnLua)
const endQueuedTurnScript = script('endQueuedTurn', endQueuedTurnLua)

/** Internal turn fields (raw strings on the turn hash). */
export const TurnInternal = {
  /** The turn's request (content, attachments, run settings) as JSON, used when it starts. */
  request: '_request',
} as const

export type TurnStore = ReturnType<typeof createTurnStore>

/** The turn status that mirrors a run status (a cancelling run's turn is still in progress). */
export function turnStatusOf(run: Run): TurnStatus {
  if (run.status === 'cancelling' || run.status === 'queued') return 'in_progress'
  return run.status
}

/** The turn after its run changed: status, end time and error follow the run. */
export function followRun(turn: Turn, run: Run, now = nowSeconds()): Turn {
  const status = turnStatusOf(run)
  const ended = status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'expired' || status === 'incomplete'
  return { ...turn, status, completed_at: ended ? now : null, last_error: run.last_error }
}

/** The `data` of a `thread.turn.*` event: everything a receiver needs, no follow-up call. */
export const turnEventData = (turn: Turn, run: Run | null, messages: Message[]) => ({ turn, run, messages })

/**
 * The most characters of a turn's stored values (request included) its wake-up entry carries
 * (createTurn-7.lua's '2'): a bigger turn wakes with the plain hint and is read by the worker.
 * Why a limit: an entry stays in the stream until the reconciler trims it, which is not before the
 * oldest entry still held (a drain running a long model call holds its own), so every turn woken
 * meanwhile keeps a second copy there; 4,096 keeps that copy a few KB, against the turn's own hash.
 */
export const WAKE_ENTRY_TURN_MAX_CHARS = 4096

/** A turn as its hash holds it (`HGETALL`, or a wake-up entry's copy) → the turn, its project and its request. */
export function turnOfFields(raw: Record<string, string>, project = raw._project ?? ''): { turn: Turn; project: string; request: unknown } {
  return { turn: Turn.parse(decodeFields(raw)), project, request: JSON.parse(raw[TurnInternal.request] ?? '{}') }
}

/** The checks a claim-and-start makes of the assistant its run was built from (startTurn-7.lua, claim mode). */
export interface AssistantCheck {
  /** The assistant's hash: never on a Cluster (its project's slot, not the thread's). */
  key: string
  /** Its fields, each with the value it must have now ('' for absent). */
  fields: readonly string[]
  values: readonly string[]
}

/** What `turns.start` stores: the turn (still as queued), its user message and run, the run's internal fields. */
export interface TurnStartArgs {
  project: string
  turn: Turn
  message: Message
  run: Run
  runInternal: Record<string, string>
  /** How many of the thread's newest message ids to return with the start (the first round's history page). */
  historyPage?: number
}

/** `turns.create` with an assistant stamp: the assistant's `model` or `tools` changed since it was read; read it again and re-check. */
export class AssistantChangedError extends Error {
  constructor(readonly assistantId: string) {
    super(`assistant ${assistantId} changed since it was read`)
    this.name = 'AssistantChangedError'
  }
}

export function createTurnStore(redis: RedisClient, k: Keys) {
  const checksAssistant = !(redis instanceof Cluster)
  const threadNotFound = (id: string) => ApiError.notFound('thread', id)
  const notFound = (id: string) => ApiError.notFound('turn', id)

  /** startTurn-7.lua's keys and arguments for `args` (`fence`: the token, or '' to claim in the same step), and the turn as started. */
  const startCall = (args: TurnStartArgs, fence: string) => {
    const t = args.turn.thread_id
    const started: Turn = { ...args.turn, status: 'in_progress', started_at: nowSeconds() }
    // The encoded fields go as arguments of their own, not inside a JSON the script decodes (each
    // value escaped again there): issue 14.
    const msg = encodeFields(args.message)
    const runFields = encodeFields(args.run)
    const internal = flatFields(args.runInternal)
    const keys = [k.thread(t), k.fence(t), k.turn(t, args.turn.id), k.messages(t), k.runs(t), k.message(t, args.message.id), k.run(t, args.run.id)]
    const argv: (string | number)[] = [
      fence,
      args.message.id,
      args.run.id,
      args.project,
      msg.length,
      runFields.length + internal.length,
      args.historyPage ?? 0,
      'status',
      JSON.stringify(started.status),
      'started_at',
      JSON.stringify(started.started_at),
      ...msg,
      ...runFields,
      ...internal,
    ]
    return { keys, argv, started }
  }

  return {
    /**
     * Stores `turn` queued in its thread's mailbox (createTurn-7.lua) and, with `wake` (the
     * default), wakes the thread in the same step, which saves the API a round trip per turn.
     * `wake: false` leaves that to the caller (`queues.enqueueDrain`, after work that must come
     * first). Throws 404 when the thread is missing or another project's.
     */
    async create(project: string, turn: Turn, request: unknown, opts: { wake?: boolean; assistant?: AssistantStamp } = {}): Promise<void> {
      const t = turn.thread_id
      const keys = [k.thread(t), k.turns(t), k.turn(t, turn.id), k.mailbox(t), k.shardPending(t), k.wake(t), k.shardWakeups(t)]
      if (opts.assistant) {
        if (!checksAssistant) throw new Error('turns.create: an assistant stamp cannot be checked on a Redis Cluster (another slot)')
        keys.push(k.assistant(project, turn.assistant_id))
      }
      const all = encodeFields(turn)
      all.push(TurnInternal.request, JSON.stringify(request))
      // The items a wake-up entry carries first, then those it leaves out (queuedTurnFields: the
      // worker puts them back): the script stores them all and carries the first `riding`.
      const derived = queuedTurnFields(turn.id, t)
      const fields: string[] = []
      const rest: string[] = []
      // Small turns ride in their wake-up entry (WAKE_ENTRY_TURN_MAX_CHARS), so the worker needs no read before its start.
      let chars = 0
      for (let i = 0; i < all.length; i += 2) {
        if (derived[all[i]!] === all[i + 1]) rest.push(all[i]!, all[i + 1]!)
        else {
          fields.push(all[i]!, all[i + 1]!)
          chars += all[i + 1]!.length
        }
      }
      const riding = fields.length
      for (const item of rest) fields.push(item)
      const wake = opts.wake === false ? '0' : chars <= WAKE_ENTRY_TURN_MAX_CHARS ? '2' : '1'
      const status = await runScript<string>(redis, createTurnScript, keys, [
        project,
        turn.id,
        t,
        Date.now(),
        wake,
        turn.assistant_id,
        opts.assistant?.model ?? '',
        opts.assistant?.tools ?? '',
        riding,
        ...fields,
      ])
      if (status === 'NOT_FOUND') throw threadNotFound(t)
      if (status === 'ASSISTANT_NOT_FOUND') throw ApiError.notFound('assistant', turn.assistant_id)
      if (status === 'ASSISTANT_CHANGED') throw new AssistantChangedError(turn.assistant_id)
    },

    /**
     * Whether `create` can check an assistant stamp: not on a Cluster, where the assistant (its
     * project's slot) and the thread (its shard's) are in different slots; read the assistant first there.
     */
    checksAssistant,

    async get(project: string, threadId: string, turnId: string): Promise<Turn> {
      const raw = await redis.hgetall(k.turn(threadId, turnId))
      if (!raw || raw._project !== project) throw notFound(turnId)
      return Turn.parse(decodeFields(raw))
    },

    /** Unscoped read with the stored request (workers). */
    async load(threadId: string, turnId: string): Promise<{ turn: Turn; project: string; request: unknown } | null> {
      const raw = await redis.hgetall(k.turn(threadId, turnId))
      if (!raw || Object.keys(raw).length === 0) return null
      return turnOfFields(raw)
    },

    list(project: string, threadId: string, query: ListQuery): Promise<ListPage<Turn>> {
      return listPage(redis, {
        ownerKey: k.thread(threadId),
        indexKey: k.turns(threadId),
        objectPrefix: k.turnPrefix(threadId),
        project,
        parse: (raw) => Turn.parse(raw),
        notFound: () => threadNotFound(threadId),
      }, query)
    },

    /**
     * Adds the turn's message and creates its run (fenced by the draining worker's token). With
     * `historyPage`, the reply's `history` is the thread's newest message ids (newest first, up to
     * that many) as they stand after the start: the first round's history page, read in the same step.
     */
    async start(args: TurnStartArgs & { fence: number }) {
      const { keys, argv, started } = startCall(args, String(args.fence))
      const reply = await runScript<string | string[]>(redis, startTurnScript, keys, argv)
      return Array.isArray(reply) ? { ok: true as const, turn: started, history: reply.slice(1) } : { ok: false as const, reply }
    },

    /**
     * Claims the thread (a new fence, as `runs.claim`) and, in the same step, starts the turn as
     * `start` does, if the mailbox's head is this turn's item, the turn is still queued and the
     * assistant's checked fields are still as the run was built from them (startTurn-7.lua, claim
     * mode; issue 14: one round trip before the model call instead of two). `started` false: only the
     * claim happened; `fence` and `head` are then what `runs.claim` returns, and the caller goes on
     * as after it. `assistant`: the fields checked (the run was built from a cached copy); none
     * checked only when the caller read the assistant itself (and on a Cluster, where it is in
     * another slot, none may be).
     */
    async claimAndStart(
      args: TurnStartArgs & { assistant: AssistantCheck },
    ): Promise<{ started: true; fence: number; turn: Turn; history: string[] } | { started: false; fence: number; head: string | null }> {
      const t = args.turn.thread_id
      const { keys, argv, started } = startCall(args, '')
      keys.push(k.mailbox(t))
      argv.push(`turn:${args.turn.id}`, args.assistant.fields.length, ...args.assistant.fields, ...args.assistant.values)
      if (args.assistant.fields.length > 0) {
        if (!checksAssistant) throw new Error('turns.claimAndStart: an assistant cannot be checked on a Redis Cluster (another slot)')
        keys.push(args.assistant.key)
      }
      const reply = await runScript<[string, number, ...(string | null)[]]>(redis, startTurnScript, keys, argv)
      if (reply[0] === 'STARTED') return { started: true, fence: Number(reply[1]), turn: started, history: reply.slice(2) as string[] }
      return { started: false, fence: Number(reply[1]), head: reply[2] ?? null }
    },

    /**
     * Ends a turn that has not started: `cancelled` by its client (project-checked), or `failed`
     * by the worker that could not start it. `null` when it has started (end its run instead).
     */
    async endQueued(
      owner: { project: string; checked: boolean },
      threadId: string,
      turnId: string,
      to: 'cancelled' | 'failed',
      lastError: Turn['last_error'] = null,
    ): Promise<Turn | null> {
      const loaded = await this.load(threadId, turnId)
      if (!loaded || (owner.checked && loaded.project !== owner.project)) throw notFound(turnId)
      const ended: Turn = { ...loaded.turn, status: to, completed_at: nowSeconds(), last_error: lastError }
      const reply = await runScript<string>(
        redis,
        endQueuedTurnScript,
        [k.thread(threadId), k.turn(threadId, turnId), k.mailbox(threadId), k.shardOutbox(threadId)],
        [
          owner.checked ? owner.project : '',
          turnId,
          JSON.stringify({
            turn: encodeFields({ status: ended.status, completed_at: ended.completed_at, last_error: ended.last_error }),
            event: [newId('evt'), `thread.turn.${to}`, JSON.stringify(turnEventData(ended, null, [])), ended.callback_url ?? ''],
            project: loaded.project,
            thread: threadId,
            created_at: String(nowSeconds()),
          }),
        ],
      )
      if (reply === 'NOT_FOUND') throw notFound(turnId)
      return reply === 'OK' ? ended : null
    },
  }
}
