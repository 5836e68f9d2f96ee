import type { Logger } from '@threadwork/logger'
import { type IngestQueues, ingestDedupId } from '@threadwork/queue'
import type { IngestStore } from '@threadwork/storage'

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'])

/**
 * Finds vector stores marked pending longer than `staleMs` with no live ingest drain (the API died
 * between storing and waking the queue, or a drain used up its attempts) and wakes them again, as
 * the thread reconciler does (processors/reconcile.ts). Extra drains are harmless: deduplicated, and
 * an empty mailbox ends at once (clearing the mark).
 */
export function createIngestReconcileProcessor(ingest: IngestStore, queues: IngestQueues, log: Logger, staleMs: number) {
  return async function reconcileIngest(): Promise<number> {
    let revived = 0
    for (const member of await ingest.stalePending(staleMs)) {
      const slash = member.indexOf('/')
      const project = member.slice(0, slash)
      const id = member.slice(slash + 1)
      const dedupId = ingestDedupId(project, id)
      const jobId = await queues.queue.getDeduplicationJobId(dedupId)
      const state = jobId ? await queues.queue.getJobState(jobId) : 'unknown'
      if (LIVE_STATES.has(state)) continue
      if (jobId) await queues.queue.removeDeduplicationKey(dedupId)
      await ingest.markPending(project, id)
      await queues.enqueueDrain(project, id)
      revived++
    }
    if (revived) log.info({ revived }, 'ingest reconciler woke stranded vector stores')
    return revived
  }
}
