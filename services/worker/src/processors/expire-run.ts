import { ACTIVE_RUN_STATUSES } from '@threadwork/domain'
import type { DrainQueues } from '@threadwork/queue'
import type { Stores } from '@threadwork/storage'

/**
 * At a run's `expires_at`: if it is still active, it ends `expired` (whoever is driving it loses the
 * status check at commit), and the thread's next item gets a drain.
 */
export function createExpireProcessor(stores: Stores, queues: DrainQueues) {
  return async function expireRun(threadId: string, runId: string): Promise<void> {
    const loaded = await stores.runs.load(threadId, runId)
    if (!loaded || loaded.run.expires_at === null) return
    const outcome = await stores.runLifecycle.end(threadId, runId, 'expired', { from: ACTIVE_RUN_STATUSES })
    if (outcome.ok) await queues.enqueueDrain(threadId)
  }
}
