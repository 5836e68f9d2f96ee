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
      const status = await runScript<string>(redis, createTurnScript, keys, [
        project,
        turn.id,
        t,
        Date.now(),
        opts.wake === false ? '0' : '1',
        turn.assistant_id,
        opts.assistant?.model ?? '',
        opts.assistant?.tools ?? '',
        ...encodeFields(turn),
        TurnInternal.request,
        JSON.stringify(request),
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
      return { turn: Turn.parse(decodeFields(raw)), project: raw._project ?? '', request: JSON.parse(raw[TurnInternal.request] ?? '{}') }
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
    async start(args: { project: string; fence: number; turn: Turn; message: Message; run: Run; runInternal: Record<string, string>; historyPage?: number }) {
      const t = args.turn.thread_id
      const started: Turn = { ...args.turn, status: 'in_progress', started_at: nowSeconds() }
      // The encoded fields go as arguments of their own, not inside a JSON the script decodes (each
      // value escaped again there): issue 14.
      const msg = encodeFields(args.message)
      const runFields = encodeFields(args.run)
      const internal = flatFields(args.runInternal)
      const reply = await runScript<string | string[]>(
        redis,
        startTurnScript,
        [k.thread(t), k.fence(t), k.turn(t, args.turn.id), k.messages(t), k.runs(t), k.message(t, args.message.id), k.run(t, args.run.id)],
        [
          String(args.fence),
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
        ],
      )
      return Array.isArray(reply) ? { ok: true as const, turn: started, history: reply.slice(1) } : { ok: false as const, reply }
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
