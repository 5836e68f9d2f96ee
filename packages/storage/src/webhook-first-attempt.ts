import type { ChainableCommander } from 'ioredis'
import type { Keys } from './keys.js'
import ackFirstAttemptsLua from './lua/ackFirstAttempts-1.lua'
import checkFifoClearLua from './lua/checkFifoClear-n.lua'
import checkReadEntriesLua from './lua/checkReadEntries-1.lua'
import settleFirstAttemptLua from './lua/settleFirstAttempt-2.lua'
import { type RedisClient, defineScript, runScript, script } from './scripts.js'
import { CALLBACK_OWNER } from './webhook-delivery-log.js'
import { DIRECT_CONSUMER_PREFIX } from './webhook-direct-attempt.js'

const checkFifoClearScript = script('checkFifoClear', checkFifoClearLua)
const settleScript = script('settleFirstAttempt', settleFirstAttemptLua)
const ackScript = script('ackFirstAttempts', ackFirstAttemptsLua)
const checkReadScript = script('checkReadEntries', checkReadEntriesLua)

/** What `checkRead` found for the entries a read was handed. */
export interface ReadEntriesCheck {
  /** Entry id → whether its (callback, thread) FIFO was clear (`fifoClear`'s answer); only entries with a thread whose callback may need it. */
  fifoClear: Map<string, boolean>
  /** Project → its webhook version ('' before any write), as the endpoint cache reads it. */
  versions: Map<string, string>
  /** Callback in-flight slots taken (`slots` asked for them): now the caller's, under `member` until `leaseUntil` (unix ms). */
  slots: { project: string; member: string; leaseUntil: number }[]
}

/** Orders stream ids `ms-seq` numerically (ascending). */
const byStreamId = (a: string, b: string) => {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

export type WebhookFirstAttemptScripts = ReturnType<typeof createWebhookFirstAttemptScripts>

/**
 * The shard-slot steps of webhook delivery attempts made straight from the outbox
 * (services/webhooks `first-attempts.ts`): may it go now, and settle it (FIFO place for its retry,
 * acknowledgement of the entry). Keys: the shard's outbox stream and FIFOs, one Cluster slot.
 */
export function createWebhookFirstAttemptScripts(redis: RedisClient, k: Keys) {
  // Defined now: a MULTI copies the scripts its connection has when it is created.
  defineScript(redis, settleScript)
  // The keys checkReadEntries-1.lua builds from its entries' project ids, as the text around the id.
  const [versionHead, versionTail] = k.webhookVersion('\u0000').split('\u0000') as [string, string]
  const [inflightHead, projectTail] = k.webhookInflight('\u0000').split('\u0000') as [string, string]
  const targetTail = k.webhookInflightTarget('\u0000', CALLBACK_OWNER).split('\u0000')[1]!
  return {
    /**
     * For each event of one shard, in order: true when its (target, thread) FIFO is empty and no
     * other consumer of `group` holds an entry older than its `entryId`, i.e. it may be sent now
     * without overtaking an earlier one (a committer's own callback attempt, `DIRECT_CONSUMER_PREFIX`,
     * holds back only its (callback, thread) pair: its FIFO member is there). One script call for all of them (1 + one XPENDING per
     * other consumer with pending entries + at most one EXISTS per event).
     */
    async fifoClear(o: {
      shard: number
      group: string
      consumer: string
      events: readonly { target: string; thread: string; entryId: string }[]
    }): Promise<boolean[]> {
      if (o.events.length === 0) return []
      const reply = await runScript<number[]>(
        redis,
        checkFifoClearScript,
        [k.outbox(o.shard), ...o.events.map((e) => k.webhookFifo(o.shard, e.target, e.thread))],
        [o.group, o.consumer, DIRECT_CONSUMER_PREFIX, ...o.events.map((e) => e.entryId)],
      )
      return o.events.map((_, i) => reply[i] === 1)
    },

    /**
     * Sent on `conn` right behind a blocking XREADGROUP of shard `shard`'s outbox by `consumer`
     * (before its reply): Redis runs it once the read is served, so its answer comes with the
     * entries (checkReadEntries-1.lua). For the entries the read was handed (this consumer's
     * pending entries after `after`, at most `count`): `fifoClear`'s answer for each one's
     * (callback, thread) pair, and each project's webhook version. Single Redis only (it builds
     * keys of other slots from the entries); resolves to empty maps when the read got nothing.
     * With `slots`: for the first clear callback of each project of which `consumer` holds no
     * callback slot then (looked up in Redis for the projects in `slots.mayHold`, those it held
     * when it sent this), its in-flight slot under the project's and the callback target's limits
     * (acquireDeliverySlot-2.lua's rule), named `slots.memberPrefix` + a number. Slot members of
     * `consumer` must start with `<consumer>#`.
     */
    async checkRead(
      conn: RedisClient,
      o: {
        shard: number
        group: string
        consumer: string
        after: string
        count: number
        slots?: { memberPrefix: string; leaseMs: number; projectLimit: number; targetLimit: number; mayHold: readonly string[] }
      },
    ): Promise<ReadEntriesCheck> {
      const s = o.slots
      const now = Date.now()
      const reply = await runScript<[(string | number)[], string[], (string | number)[]] | []>(
        conn,
        checkReadScript,
        [k.outbox(o.shard)],
        [
          o.group,
          o.consumer,
          DIRECT_CONSUMER_PREFIX,
          o.after,
          o.count,
          k.webhookFifo(o.shard, CALLBACK_OWNER, ''),
          versionHead,
          versionTail,
          s?.memberPrefix ?? '',
          now,
          now + (s?.leaseMs ?? 0),
          s?.projectLimit ?? 0,
          s?.targetLimit ?? 0,
          inflightHead,
          projectTail,
          targetTail,
          ...(s?.mayHold ?? []),
        ],
      )
      const out: ReadEntriesCheck = { fifoClear: new Map(), versions: new Map(), slots: [] }
      const [checks = [], versions = [], taken = []] = reply
      for (let i = 0; i + 1 < checks.length; i += 2) out.fifoClear.set(String(checks[i]), checks[i + 1] === 1)
      for (let i = 0; i + 1 < versions.length; i += 2) out.versions.set(versions[i]!, versions[i + 1]!)
      for (let i = 0; i + 2 < taken.length; i += 3) out.slots.push({ project: String(taken[i]), member: String(taken[i + 1]), leaseUntil: Number(taken[i + 2]) })
      return out
    },

    /**
     * Acknowledges the entries of one shard whose attempts are all done, in one call; those
     * another consumer has claimed meanwhile are left to it. Resolves to the number acknowledged.
     */
    ack(o: { shard: number; group: string; consumer: string; entryIds: readonly string[] }): Promise<number> {
      if (o.entryIds.length === 0) return Promise.resolve(0)
      const ids = [...new Set(o.entryIds)].sort(byStreamId)
      return runScript<number>(redis, ackScript, [k.outbox(o.shard)], [o.group, o.consumer, ...ids])
    },

    /**
     * Queues the settle step on `multi` (a MULTI of this connection that also adds the retry job).
     * `member`: the FIFO place to keep while the event is retried ('' for none); `ack`: the
     * entry's last target is done. Nothing happens if another consumer has claimed the entry.
     */
    settle(
      multi: ChainableCommander,
      o: { shard: number; target: string; thread: string | null; entryId: string; group: string; consumer: string; member: string; ack: boolean },
    ): void {
      const fifo = o.thread ? k.webhookFifo(o.shard, o.target, o.thread) : k.outbox(o.shard)
      const command = (multi as unknown as Record<string, (...a: unknown[]) => unknown>)[settleScript.name]
      if (!command) throw new Error(`${settleScript.name} is not defined on this MULTI's connection`)
      command.call(multi, 2, k.outbox(o.shard), fifo, o.group, o.entryId, o.member, o.ack ? '1' : '0', o.consumer)
    },
  }
}
