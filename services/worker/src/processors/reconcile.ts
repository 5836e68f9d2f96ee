import type { Logger } from '@threadwork/logger'
import type { DrainQueues } from '@threadwork/queue'
import type { Stores } from '@threadwork/storage'

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'])

/**
 * Finds threads whose mailbox has waited longer than `staleMs` with no live drain job (the API died
 * between storing and enqueueing, a drain exhausted its attempts, or a stray deduplication key was
 * left behind after an outage) and gives each a drain again. Extra drains are harmless: they are
 * deduplicated, and a drain of an empty or parked thread ends at once.
 */
export function createReconcileProcessor(stores: Stores, queues: DrainQueues, log: Logger, staleMs: number) {
  return async function reconcile(shard: number): Promise<number> {
    const pendingKey = stores.keys.pending(shard)
    const stale = await stores.redis.zrangebyscore(pendingKey, '-inf', Date.now() - staleMs, 'LIMIT', 0, 500)
    let revived = 0
    for (const threadId of stale) {
      const queue = queues.queueFor(threadId)
      const jobId = await queue.getDeduplicationJobId(threadId)
      const state = jobId ? await queue.getJobState(jobId) : 'unknown'
      if (LIVE_STATES.has(state)) continue
      if (jobId) await queue.removeDeduplicationKey(threadId)
      if ((await stores.redis.llen(stores.keys.mailbox(threadId))) === 0) {
        await stores.redis.zrem(pendingKey, threadId)
        continue
      }
      await queues.enqueueDrain(threadId)
      await stores.redis.zadd(pendingKey, 'XX', Date.now(), threadId)
      revived++
    }
    if (revived) log.info({ shard, revived }, 'reconciler re-queued stranded threads')
    return revived
  }
}
