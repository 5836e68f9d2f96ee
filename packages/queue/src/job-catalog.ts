/**
 * Every job Threadwork puts on a shard's queue. Payloads carry ids only: thread content never sits
 * in BullMQ job data (it is stored in clear text and shown by the dashboard).
 */
export interface JobCatalog {
  /** Work through a thread's mailbox, one item at a time, in order. Deduplicated per thread. */
  drain: { threadId: string }
  /** At a run's `expires_at`: expire it if it is still active. */
  expire: { threadId: string; runId: string }
  /** Periodic: re-add drains for threads whose mailbox has waited too long (lost enqueue, stray dedup key). */
  reconcile: { shard: number }
}
export type JobName = keyof JobCatalog
