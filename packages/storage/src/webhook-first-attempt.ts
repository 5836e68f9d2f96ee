import type { ChainableCommander } from 'ioredis'
import type { Keys } from './keys.js'
import ackFirstAttemptsLua from './lua/ackFirstAttempts-1.lua'
import checkFifoClearLua from './lua/checkFifoClear-n.lua'
import settleFirstAttemptLua from './lua/settleFirstAttempt-2.lua'
import { type RedisClient, defineScript, runScript, script } from './scripts.js'
import { DIRECT_CONSUMER_PREFIX } from './webhook-direct-attempt.js'

const checkFifoClearScript = script('checkFifoClear', checkFifoClearLua)
const settleScript = script('settleFirstAttempt', settleFirstAttemptLua)
const ackScript = script('ackFirstAttempts', ackFirstAttemptsLua)

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
