import type { Keys } from '@threadwork/storage'
import { type ConnectionOptions, Queue } from 'bullmq'
import type { JobCatalog } from './job-catalog.js'

type IngestJob = JobCatalog['ingest-drain'] | JobCatalog['ingest-reconcile']
export type IngestQueue = Queue<IngestJob, unknown, 'ingest-drain' | 'ingest-reconcile'>

/** The deduplication id of a store's drain: one writer per vector store at a time. */
export const ingestDedupId = (project: string, vectorStoreId: string) => `${project}/${vectorStoreId}`

/**
 * The vector store ingestion queue and its producers. Like the thread drains
 * (research/queue-webhooks.md §1.3): the job carries ids only, the work sits in the store's mailbox,
 * and the drain is deduplicated per store with `keepLastIfActive`, so a store has one writer at a
 * time and an item appended while its drain runs is never left unseen.
 */
export function createIngestQueue(connection: ConnectionOptions, k: Keys) {
  const queue: IngestQueue = new Queue(k.ingestQueue, { connection, prefix: k.prefix })
  // The connection is the caller's, whose owner logs its trouble once per outage; without a listener
  // BullMQ prints a stack trace per reconnect attempt while Redis is down.
  queue.on('error', () => {})
  return {
    queue,
    /** Signals "this store has work" (idempotent while a drain waits). */
    async enqueueDrain(project: string, vectorStoreId: string): Promise<void> {
      await queue.add(
        'ingest-drain',
        { project, vectorStoreId },
        {
          deduplication: { id: ingestDedupId(project, vectorStoreId), keepLastIfActive: true },
          // A transient fault (embeddings upstream down) fails the attempt; files count their own
          // attempts and end `failed` after a few, so retries never loop on one file.
          attempts: 8,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 7 * 86400 },
        },
      )
    },
    async installReconciler(everyMs: number): Promise<void> {
      await queue.upsertJobScheduler('ingest-reconcile', { every: everyMs }, { name: 'ingest-reconcile', data: {}, opts: { removeOnComplete: true, removeOnFail: { age: 7 * 86400 } } })
    },
    close: () => queue.close(),
  }
}
export type IngestQueues = ReturnType<typeof createIngestQueue>
