import type { ChainableCommander } from 'ioredis'
import type { Keys } from './keys.js'
import checkFifoClearLua from './lua/checkFifoClear-2.lua'
import settleFirstAttemptLua from './lua/settleFirstAttempt-2.lua'
import { type RedisClient, defineScript, runScript, script } from './scripts.js'

const checkFifoClearScript = script('checkFifoClear', checkFifoClearLua)
const settleScript = script('settleFirstAttempt', settleFirstAttemptLua)

export type WebhookFirstAttemptScripts = ReturnType<typeof createWebhookFirstAttemptScripts>

/**
 * The two shard-slot steps of a webhook delivery attempt made straight from the outbox
 * (services/webhooks `first-attempts.ts`): may it go now, and settle it (FIFO place for its retry,
 * acknowledgement of the entry). Keys: the shard's outbox stream and FIFOs, one Cluster slot.
 */
export function createWebhookFirstAttemptScripts(redis: RedisClient, k: Keys) {
  // Defined now: a MULTI copies the scripts its connection has when it is created.
  defineScript(redis, settleScript)
  return {
    /**
     * True when the (target, thread) FIFO is empty and no other consumer of `group` holds an
     * entry older than `entryId`: the event may be sent now without overtaking an earlier one.
     */
    async fifoClear(o: { shard: number; target: string; thread: string; entryId: string; group: string; consumer: string }): Promise<boolean> {
      const reply = await runScript<number>(redis, checkFifoClearScript, [k.webhookFifo(o.shard, o.target, o.thread), k.outbox(o.shard)], [o.group, o.consumer, o.entryId])
      return reply === 1
    },

    /** The settle step alone (no retry job): the entry's XACK, if it is still this consumer's. */
    settleNow(o: { shard: number; entryId: string; group: string; consumer: string }): Promise<number> {
      return runScript<number>(redis, settleScript, [k.outbox(o.shard), k.outbox(o.shard)], [o.group, o.entryId, '', '1', o.consumer])
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
