import type { ChainableCommander } from 'ioredis'
import type { Keys } from './keys.js'
import renewDirectClaimsLua from './lua/renewDirectClaims-1.lua'
import settleDirectAttemptLua from './lua/settleDirectAttempt-2.lua'
import { type RedisClient, defineScript, runScript, script } from './scripts.js'
import { CALLBACK_OWNER, type DeliveredSettle } from './webhook-delivery-log.js'

/** The consumer group every webhook dispatcher reads the outbox streams with (services/webhooks `GROUP`). */
export const OUTBOX_GROUP = 'dispatch'

/**
 * Consumers of the outbox group whose names start with this hold only entries taken by their
 * committer for its own callback attempt (commitRun-6.lua `direct`), each with its member in the
 * (callback, thread) FIFO from the same step: checkFifoClear-n.lua orders events behind them by
 * that FIFO, not by their mere presence. No other consumer may take such a name.
 */
export const DIRECT_CONSUMER_PREFIX = 'direct:'

/** An outbox entry taken by its committer for its own callback attempt (`CommitPlan.direct`). */
export interface DirectClaim {
  entryId: string
  shard: number
  /** The callback's event id. */
  evt: string
  /** Its place in a packed entry, else null. */
  sub: number | null
  /** Its member in the (callback, thread) FIFO, `webhookFifoMember(entryId, evt, sub)`. */
  member: string
  /** The event as the entry carries it: its type, data (the object the commit encoded), callback_url and `created_at` (unix s). */
  type: string
  data: unknown
  callbackUrl: string
  createdAt: number
  /**
   * The FIFO member it was taken behind: the caller's own earlier attempt of the thread, still
   * running when the commit took this one. Its attempt goes after that one's settle, and only if
   * its member is then the FIFO's head (else the queued way); null when the FIFO was empty.
   */
  behind: string | null
}

/**
 * A (target, thread) FIFO member (services/webhooks fifo.ts, README "Ordering"): `1712345678901-3`
 * + `evt_…` (+ its place in a packed entry) → `<ms, 16 digits>-<seq, 10 digits>[.<place, 4
 * digits>]|<evt>`, which sorts by entry id, then place. commitRun-6.lua builds the same.
 */
export function webhookFifoMember(entryId: string, evt: string, sub?: number | null): string {
  const [ms = '0', seq = '0'] = entryId.split('-')
  const place = sub === undefined || sub === null ? '' : `.${String(sub).padStart(4, '0')}`
  return `${ms.padStart(16, '0')}-${seq.padStart(10, '0')}${place}|${evt}`
}

/**
 * A FIFO member read back (the inverse of {@link webhookFifoMember}): its outbox entry id
 * (`1712345678901-3`), its place in a packed entry (0 when the entry carries one event) and its
 * event id.
 */
export function parseWebhookFifoMember(member: string): { entryId: string; sub: number; evt: string } {
  const bar = member.indexOf('|')
  const [id = '', sub = '0'] = member.slice(0, bar).split('.')
  const [ms = '0', seq = '0'] = id.split('-')
  return { entryId: `${Number(ms)}-${Number(seq)}`, sub: Number(sub), evt: member.slice(bar + 1) }
}

const settleScript = script('settleDirectAttempt', settleDirectAttemptLua)
const renewScript = script('renewDirectClaims', renewDirectClaimsLua)

export type WebhookDirectAttemptScripts = ReturnType<typeof createWebhookDirectAttemptScripts>

/**
 * The shard-slot steps of a callback attempt made by the process that committed its event
 * (`CommitPlan.direct`): settle it, and keep its entry from looking abandoned while it runs.
 */
export function createWebhookDirectAttemptScripts(redis: RedisClient, k: Keys) {
  // Defined now: a MULTI copies the scripts its connection has when it is created.
  defineScript(redis, settleScript)
  const args = (c: DirectClaim, thread: string, consumer: string, keep: boolean) =>
    [k.outbox(c.shard), k.webhookFifo(c.shard, CALLBACK_OWNER, thread), OUTBOX_GROUP, c.entryId, c.member, keep ? '1' : '0', consumer] as const
  return {
    /**
     * Acknowledges the entry and removes its FIFO member (`keep`: leaves it, for a retry job added
     * in the same MULTI). `settled` is false when another consumer had claimed the entry (nothing
     * done); `head` is the FIFO's head once the member went (the pair's next event), else null.
     */
    async settle(c: DirectClaim, thread: string, consumer: string, keep = false): Promise<{ settled: boolean; head: string | null }> {
      const [stream, fifo, ...rest] = args(c, thread, consumer, keep)
      const [n, head] = await runScript<[number, string]>(redis, settleScript, [stream, fifo], [...rest])
      return { settled: n === 1, head: head || null }
    },

    /** `settle`'s arguments for a delivered attempt, for the record's step to settle it (`WebhookDeliveryLog.record`'s `settleDelivered`). */
    deliveredSettle(c: DirectClaim, thread: string): DeliveredSettle {
      return { stream: k.outbox(c.shard), fifo: k.webhookFifo(c.shard, CALLBACK_OWNER, thread), group: OUTBOX_GROUP, entryId: c.entryId, member: c.member }
    },

    /** `settle` queued on `multi` (a MULTI of this connection that also adds the retry job). */
    settleOn(multi: ChainableCommander, c: DirectClaim, thread: string, consumer: string, keep: boolean): void {
      const command = (multi as unknown as Record<string, (...a: unknown[]) => unknown>)[settleScript.name]
      if (!command) throw new Error(`${settleScript.name} is not defined on this MULTI's connection`)
      command.call(multi, 2, ...args(c, thread, consumer, keep))
    },

    /** Resets the idle time of those of `entryIds` still pending under `consumer`; resolves to how many. */
    renew(shard: number, consumer: string, entryIds: readonly string[]): Promise<number> {
      if (entryIds.length === 0) return Promise.resolve(0)
      return runScript<number>(redis, renewScript, [k.outbox(shard)], [OUTBOX_GROUP, consumer, ...entryIds])
    },
  }
}
