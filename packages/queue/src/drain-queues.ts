import type { Keys } from '@threadwork/storage'
import { type ConnectionOptions, Queue } from 'bullmq'
import type { JobCatalog } from './job-catalog.js'

export type ShardQueue = Queue<JobCatalog[keyof JobCatalog], unknown, keyof JobCatalog>

/** How long finished jobs stay visible (dashboard, debugging) before BullMQ trims them. */
const KEEP_COMPLETED = { age: 3600, count: 1000 }
const KEEP_FAILED = { age: 7 * 86400 }

/**
 * How long after a run's `expires_at` the expiry backstops act on a run a worker may be driving
 * (the reconciler's sweep of the deadlines set; the API's lazy check of an `in_progress` run). The driving worker's own timer
 * ends the run at `expires_at`, fenced, storing the reply it was streaming as `incomplete`
 * (`run_expired`); a backstop winning that race would end the run without it.
 */
export const EXPIRY_BACKSTOP_GRACE_MS = 2000

/**
 * The per-shard queues (one per hash-tagged shard, so each queue's keys share its shard's slot)
 * and the producers for them.
 */
export function createDrainQueues(connection: ConnectionOptions, k: Keys) {
  const queues: ShardQueue[] = Array.from({ length: k.shards }, (_, shard) => new Queue(k.drainQueue(shard), { connection, prefix: k.prefix }))
  // The connection is the caller's, whose owner logs its trouble once per outage; without a listener
  // BullMQ prints a stack trace per reconnect attempt while Redis is down.
  for (const q of queues) q.on('error', () => {})
  const queueFor = (threadId: string) => queues[k.shardOf(threadId)]!

  return {
    queues,
    queueFor,

    /**
     * Signals "this thread has work". Deduplicated per thread with `keepLastIfActive`: while a
     * drain runs, one more is kept and started after it, so a mailbox append never goes unseen
     * (research/queue-webhooks.md §1.3: no lost wakeup), and two drains of one thread never overlap
     * while the lock holds. An auto job id: a fixed one would collide with the retained completed job.
     */
    async enqueueDrain(threadId: string): Promise<void> {
      await queueFor(threadId).add(
        'drain',
        { threadId },
        {
          deduplication: { id: threadId, keepLastIfActive: true },
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: KEEP_COMPLETED,
          removeOnFail: KEEP_FAILED,
        },
      )
    },

    /** Installs the reconciler schedule on every shard (idempotent). */
    async installReconciler(everyMs: number): Promise<void> {
      await Promise.all(queues.map((q, shard) => q.upsertJobScheduler('reconcile', { every: everyMs }, { name: 'reconcile', data: { shard }, opts: { removeOnComplete: true, removeOnFail: KEEP_FAILED } })))
    },

    async close(): Promise<void> {
      await Promise.all(queues.map((q) => q.close()))
    },
  }
}
export type DrainQueues = ReturnType<typeof createDrainQueues>
