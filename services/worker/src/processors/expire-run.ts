import { ACTIVE_RUN_STATUSES } from '@threadwork/domain'
import { type DrainQueues, EXPIRY_BACKSTOP_GRACE_MS } from '@threadwork/queue'
import type { Stores } from '@threadwork/storage'

/** Overdue runs ended per shard per sweep; the rest wait for the next tick. */
const SWEEP_BATCH = 500

/**
 * The expiry backstop for runs nobody is driving or reading: every active run with an `expires_at`
 * is in its shard's deadlines set (createRun/startTurn add it, the terminal commit removes it), and
 * the reconciler's tick ends those past `expires_at` + the grace `expired`. The grace lets a worker
 * driving the run end it first with its own timer (keeping the reply it was streaming); the API's
 * lazy check on every read covers the time between ticks.
 */
export function createExpireProcessor(stores: Stores, queues: DrainQueues) {
  /** Ends the run `expired` if it is still active (whoever drives it then loses at its commit) and wakes the thread's next item. */
  async function expireRun(threadId: string, runId: string): Promise<void> {
    const outcome = await stores.runLifecycle.end(threadId, runId, 'expired', { from: ACTIVE_RUN_STATUSES })
    if (outcome.ok) await queues.enqueueDrain(threadId)
  }

  return {
    expireRun,

    /** Ends the shard's overdue runs; returns how many it looked at. */
    async sweep(shard: number): Promise<number> {
      const key = stores.keys.deadlines(shard)
      const due = await stores.redis.zrangebyscore(key, '-inf', Date.now() - EXPIRY_BACKSTOP_GRACE_MS, 'LIMIT', 0, SWEEP_BATCH)
      for (const member of due) {
        const [threadId, runId] = member.split('/') as [string, string]
        await expireRun(threadId, runId)
        // Ended now (the commit removed it), or already ended or gone: it has no deadline any more.
        await stores.redis.zrem(key, member)
      }
      return due.length
    },
  }
}
