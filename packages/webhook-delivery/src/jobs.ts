import { Job, type Queue } from 'bullmq'
import type { WebhookDeliveryTrigger } from '@threadwork/domain'

/**
 * One delivery job: one event to one target. Ids only (style §13): the body is read from the
 * event record and the URL and secrets from the endpoint at send time, so secrets never sit in
 * job data and a URL change applies to pending retries.
 */
export interface DeliveryJob {
  project: string
  evt: string
  /** An endpoint id, or `'callback'` for the event's turn callback_url. */
  target: string
  /** The outbox shard: its queue holds the job, its stream and FIFO order it. */
  shard: number
  /** Set for ordered deliveries: the outbox entry id that fixes the event's place in its thread. */
  entryId: string | null
  /** The event's place in its outbox entry when the entry carries several (a commit's events), else absent or null. */
  sub?: number | null
  thread: string | null
  trigger: WebhookDeliveryTrigger
  /** Attempts this job has made: its position in the retry schedule. */
  tries: number
  /** When this job's next attempt is due (unix ms) while it waits for a retry; later events of its FIFO wait for it. */
  retryAt: number | null
  /**
   * Set when every scheduled attempt failed and the job was failed (it shows in the dashboard's
   * Failed tab). Retrying such a job there sends once more, outside the FIFO: its thread's later
   * events have moved on already.
   */
  exhausted?: boolean
  /**
   * Set on the job of a first attempt made straight from the outbox that failed for good (its
   * URL refused, or a one-attempt schedule spent): the job only fails, with this reason, so the
   * delivery shows under Failed like any other; retrying it there sends it once more.
   */
  failedFirst?: string
}

/** Consumer group every dispatcher reads the outbox streams with. */
export const GROUP = 'dispatch'

/**
 * `<evt>.<target>`, or with a suffix for a manual redelivery. Idempotent: re-adding an event
 * (a reclaimed outbox entry) finds the job already there. Not `evt:target`, because BullMQ 6
 * refuses custom ids containing `:` (job.js: "Custom Id cannot contain :").
 */
export const deliveryJobId = (evt: string, target: string, suffix?: string) => (suffix ? `${evt}.${target}.${suffix}` : `${evt}.${target}`)

/** Finished jobs stay an hour, so a re-added event within that time is still recognised as a duplicate. */
export const KEEP_COMPLETED = { age: 3600, count: 10_000 }
export const KEEP_FAILED = { age: 7 * 86400 }

export const jobOptions = (jobId: string) => ({
  jobId,
  /** Set at fan-out for a throttled project's jobs (fairness.ts); unset = BullMQ's wait list. */
  priority: undefined as number | undefined,
  delay: undefined as number | undefined,
  // HTTP failures are retried by the processor itself (moveToDelayed), so these attempts only
  // cover unexpected errors (Redis hiccups) thrown out of the processor.
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
})

/**
 * The job of an (event, target) made outside BullMQ's `add` (to be added on a MULTI with
 * `job.addJob(multi)`, beside the step that settles its outbox entry): the retry of a failed first
 * attempt (`delay` until it is due), or one that only fails (`failedFirst`), or the queued way.
 */
export function deliveryJob(queue: Queue<DeliveryJob>, data: DeliveryJob, delay?: number): Job<DeliveryJob> {
  const opts = jobOptions(deliveryJobId(data.evt, data.target))
  if (delay !== undefined && delay > 0) opts.delay = delay
  return new Job<DeliveryJob>(queue, 'deliver', data, opts, opts.jobId)
}
