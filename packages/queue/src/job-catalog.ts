/**
 * Every job Threadwork puts on a shard's queue. Payloads carry ids only: thread content never sits
 * in BullMQ job data (it is stored in clear text and shown by the dashboard).
 */
export interface JobCatalog {
  /**
   * Queued by earlier versions to drain a thread; now handled as a wake-up of the thread (drains
   * come from the shard's wake-up stream: storage `thread-wakeups.ts`). No longer queued.
   */
  drain: { threadId: string }
  /**
   * At a run's `expires_at`: expire it if it is still active. No longer queued (the reconciler
   * sweeps the shard's deadlines set); still processed for jobs queued by earlier versions.
   */
  expire: { threadId: string; runId: string }
  /** Periodic: re-add drains for threads whose mailbox has waited too long (lost enqueue, stray dedup key), end overdue runs. */
  reconcile: { shard: number }
  /**
   * On the ingest queue (`ingest-{vs}`): work through one vector store's mailbox (ingest, remove,
   * re-attribute files; drop the index of a deleted store). Deduplicated per store: one writer each.
   */
  'ingest-drain': { project: string; vectorStoreId: string }
  /** On the ingest queue, periodic: re-add drains for stores whose work waited with no live drain. */
  'ingest-reconcile': Record<string, never>
}
export type JobName = keyof JobCatalog
