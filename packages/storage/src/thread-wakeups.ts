import type { Keys } from './keys.js'
import releaseThreadLua from './lua/releaseThread-2.lua'
import wakeThreadLua from './lua/wakeThread-2.lua'
import { type RedisClient, runScript, script } from './scripts.js'
import { compareStreamIds, removeDeadConsumers, replyPairs } from './stream-replies.js'

const wakeThread = script('wakeThread', wakeThreadLua)
const releaseThread = script('releaseThread', releaseThreadLua)

/** The consumer group every worker reads a shard's wake-up stream with. */
export const DRAIN_GROUP = 'drain'

/** A consumer that has held nothing for this long belonged to a stopped worker: removed (ms). */
const DEAD_CONSUMER_IDLE_MS = 3600_000

/** The group's read position and backlog on one shard (XINFO GROUPS); null when the group is missing. */
export interface WakeupGroupState {
  /** Id of the last entry handed to any consumer ('0-0' before the first). */
  lastDelivered: string
  /** Entries handed out and not yet acked (drains running or owed a takeover). */
  pending: number
  /** Entries not yet handed out (Redis ≥ 7; null when Redis cannot tell). */
  lag: number | null
}

/**
 * What a wake-up entry says about the item that will head its thread's mailbox: written by
 * createTurn-7.lua for a turn that heads an empty mailbox, so the worker can read the turn and its
 * assistant beside its claim instead of after it (issue 14, latency). A hint only: the claim's
 * head decides; entries of other wakes (and of earlier versions) carry none.
 */
export interface WakeHint {
  turnId: string
  project: string
  assistantId: string
  /**
   * The turn's hash as createTurn-7.lua stored it (`_project` aside; the entry carries what
   * {@link queuedTurnFields} cannot put back), when it was small enough to
   * carry (turn-store `WAKE_ENTRY_TURN_MAX_CHARS`): the worker can then claim and start it in one
   * step. A copy from the accept: the start checks the turn is still queued.
   */
  turn?: Record<string, string>
}

/**
 * A wake-up entry's flat fields `[t, <thread>, turn, …, project, …, assistant, …, <turn's field, value>…]`
 * → its thread id and hint (null if none). The turn's fields follow the hint's four pairs (createTurn-7.lua).
 */
export function wakeEntryOf(fields: readonly string[]): { threadId: string; hint: WakeHint | null } {
  const f = replyPairs(fields.slice(0, 8)) as Record<string, string | undefined>
  const { turn, project, assistant } = f
  if (!(turn && project !== undefined && assistant)) return { threadId: f.t ?? '', hint: null }
  const hint: WakeHint = { turnId: turn, project, assistantId: assistant }
  if (fields.length > 8) hint.turn = { ...queuedTurnFields(turn, f.t ?? ''), ...(replyPairs(fields.slice(8)) as Record<string, string>) }
  return { threadId: f.t ?? '', hint }
}

/**
 * The fields of a turn as accepted (its hash's JSON values) that its wake-up entry leaves out
 * (turn-store `create`, createTurn-7.lua): those the hint names (id, thread) and those every turn
 * has when accepted (queued, not started, ended nor failed). {@link wakeEntryOf} puts them back; a
 * field stored with another value rides as it is. 7 of a turn's 15 pairs (issue 14: each value
 * an entry carries costs redis-server its parse, Lua string, XADD and AOF record, ~2.5k
 * instructions, however short; entries of earlier versions carry them all and read the same).
 */
export function queuedTurnFields(turnId: string, threadId: string): Record<string, string> {
  return {
    id: JSON.stringify(turnId),
    object: '"thread.turn"',
    thread_id: JSON.stringify(threadId),
    status: '"queued"',
    started_at: 'null',
    completed_at: 'null',
    last_error: 'null',
  }
}

/**
 * The per-shard streams of thread wake-ups that replaced the per-thread BullMQ drain job (issue 14):
 * a thread with work owes exactly one drain, recorded by its wake key and one stream entry; workers
 * read entries with the consumer group `drain`, drain the thread under its fence, then release.
 * Every key of one call shares the thread's shard slot (Redis Cluster).
 */
export function createThreadWakeups(redis: RedisClient, k: Keys) {
  return {
    group: DRAIN_GROUP,

    /**
     * Owes `threadId` a drain (wakeThread-2.lua): adds its stream entry unless one is owed already,
     * in which case that drain looks again before it lets go. `dead`: a wake value the reconciler
     * found naming no live entry, replaced by a fresh entry. Returns true when an entry was added.
     */
    async wake(threadId: string, dead = ''): Promise<boolean> {
      return (await runScript<number>(redis, wakeThread, [k.wake(threadId), k.shardWakeups(threadId)], [threadId, dead])) === 1
    },

    /**
     * Lets go of entry `entryId` of `threadId` (releaseThread-2.lua). 'release': the drain is done,
     * unless the thread was woken meanwhile ('AGAIN': claim it again, the entry is still yours).
     * 'handover': a stopping worker passes the thread to another at once.
     */
    async release(threadId: string, entryId: string, mode: 'release' | 'handover'): Promise<'DONE' | 'AGAIN'> {
      return runScript<'DONE' | 'AGAIN'>(redis, releaseThread, [k.wake(threadId), k.shardWakeups(threadId)], [DRAIN_GROUP, entryId, mode, threadId])
    },

    /** Creates the shard's stream and group if missing (idempotent). */
    async ensureGroup(shard: number): Promise<void> {
      await redis.xgroup('CREATE', k.wakeups(shard), DRAIN_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err
      })
    },

    /** The group's read position and backlog on `shard`, or null when the stream or group is missing. */
    async groupState(shard: number): Promise<WakeupGroupState | null> {
      const groups = (await redis.xinfo('GROUPS', k.wakeups(shard)).catch(() => [])) as unknown[][]
      const g = groups.map(replyPairs).find((x) => x.name === DRAIN_GROUP)
      if (!g) return null
      return { lastDelivered: String(g['last-delivered-id']), pending: Number(g.pending), lag: g.lag == null ? null : Number(g.lag) }
    },

    /**
     * True when wake value `value` (a wake key's content) names an entry still owed: handed to a
     * consumer and not acked (a crashed one's is taken over by another worker), or not yet read.
     * `state` is this shard's `groupState`, read before the wake key.
     */
    async isOwed(threadId: string, value: string, state: WakeupGroupState): Promise<boolean> {
      const id = value.endsWith('+') ? value.slice(0, -1) : value
      if (compareStreamIds(id, state.lastDelivered) > 0) return true
      const held = (await redis.xpending(k.shardWakeups(threadId), DRAIN_GROUP, id, id, 1)) as unknown[]
      return held.length > 0
    },

    /**
     * Housekeeping for `shard` (the reconciler's tick): trims entries every consumer is done with
     * (before the oldest unacked one, and none unread) and removes consumers of stopped workers.
     * Returns how many entries were trimmed.
     */
    async tidy(shard: number): Promise<number> {
      const key = k.wakeups(shard)
      const state = await this.groupState(shard)
      if (!state || state.lastDelivered === '0-0') return 0
      const [count, oldest] = (await redis.xpending(key, DRAIN_GROUP)) as [number, string | null]
      let minId: string
      if (count > 0 && oldest) minId = oldest
      else {
        const [ms, seq] = state.lastDelivered.split('-')
        minId = `${ms}-${BigInt(seq ?? '0') + 1n}`
      }
      const trimmed = await redis.xtrim(key, 'MINID', minId)
      await removeDeadConsumers(redis, key, DRAIN_GROUP, DEAD_CONSUMER_IDLE_MS)
      return trimmed
    },
  }
}
export type ThreadWakeups = ReturnType<typeof createThreadWakeups>
