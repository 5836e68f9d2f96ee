import type { Logger } from '@threadwork/logger'
import type { Stores } from '@threadwork/storage'

/**
 * Finds threads whose mailbox has waited longer than `staleMs` with no drain owed (the API died
 * between storing and waking, or a wake key outlived its stream entry after an outage) and wakes
 * each again. A drain owed and unread, or held by a worker (a crashed one's is taken over by the
 * wake-up consumers after the lease), is left alone. Extra drains are harmless: a drain of an empty
 * or parked thread ends at once. The same tick trims the shard's wake-up stream.
 */
export function createReconcileProcessor(stores: Stores, log: Logger, staleMs: number) {
  const { wakeups, keys } = stores
  return async function reconcile(shard: number): Promise<number> {
    const pendingKey = keys.pending(shard)
    const stale = await stores.redis.zrangebyscore(pendingKey, '-inf', Date.now() - staleMs, 'LIMIT', 0, 500)
    let revived = 0
    if (stale.length > 0) {
      await wakeups.ensureGroup(shard)
      // Read before the wake keys: an entry added after this counts as unread, so as owed.
      const state = await wakeups.groupState(shard)
      for (const threadId of stale) {
        const owed = await stores.redis.get(keys.wake(threadId))
        if (owed && state && (await wakeups.isOwed(threadId, owed, state))) continue
        // A wake key naming no live entry would turn every later wake into a mark nobody reads:
        // replaced by a fresh entry even when the mailbox is empty (that drain ends at once).
        if (!owed && (await stores.redis.llen(keys.mailbox(threadId))) === 0) {
          await stores.redis.zrem(pendingKey, threadId)
          continue
        }
        await wakeups.wake(threadId, owed ?? '')
        await stores.redis.zadd(pendingKey, 'XX', Date.now(), threadId)
        revived++
      }
    }
    await wakeups.tidy(shard)
    if (revived) log.info({ shard, revived }, 'reconciler re-queued stranded threads')
    return revived
  }
}
