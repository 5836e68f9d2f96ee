import { type Keys, type RedisClient, createThreadWakeups } from '@threadwork/storage'
import { Queue } from 'bullmq'
import type { JobCatalog } from './job-catalog.js'

export type ShardQueue = Queue<JobCatalog[keyof JobCatalog], unknown, keyof JobCatalog>

/** How long finished jobs stay visible (dashboard, debugging) before BullMQ trims them. */
const KEEP_FAILED = { age: 7 * 86400 }

/**
 * How long after a run's `expires_at` the expiry backstops act on a run a worker may be driving
 * (the reconciler's sweep of the deadlines set; the API's lazy check of an `in_progress` run). The driving worker's own timer
 * ends the run at `expires_at`, fenced, storing the reply it was streaming as `incomplete`
 * (`run_expired`); a backstop winning that race would end the run without it.
 */
export const EXPIRY_BACKSTOP_GRACE_MS = 2000

/**
 * Thread wake-ups and the per-shard BullMQ queues (one per hash-tagged shard, so each queue's keys
 * share its shard's slot), which now carry only the reconciler's schedule: a thread's drain is an
 * entry of its shard's wake-up stream (storage `thread-wakeups.ts`, issue 14).
 */
export function createDrainQueues(connection: RedisClient, k: Keys) {
  const queues: ShardQueue[] = Array.from({ length: k.shards }, (_, shard) => new Queue(k.drainQueue(shard), { connection, prefix: k.prefix }))
  const wakeups = createThreadWakeups(connection, k)
  // The connection is the caller's, whose owner logs its trouble once per outage; without a listener
  // BullMQ prints a stack trace per reconnect attempt while Redis is down.
  for (const q of queues) q.on('error', () => {})
  const queueFor = (threadId: string) => queues[k.shardOf(threadId)]!

  return {
    queues,
    queueFor,

    /**
     * Signals "this thread has work": owes it one drain (its shard's wake-up stream). While one is
     * owed or running, a wake only marks it, and that drain claims the thread again before it lets
     * go, so a mailbox append is never left unseen (research/queue-webhooks.md §1.3: no lost
     * wakeup) and one thread never has two drains owed. Same promise as the BullMQ job it replaced
     * (deduplicated per thread, `keepLastIfActive`), at 3–4 Redis commands instead of ~48 a turn.
     */
    async enqueueDrain(threadId: string): Promise<void> {
      await wakeups.wake(threadId)
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
