import { hostname } from 'node:os'
import { createSafeDispatcher } from '@threadwork/egress'
import type { Logger } from '@threadwork/logger'
import { createDeliverySlots, createWebhookEndpointStore, createWebhookFirstAttemptScripts, isRedisConnectionError, keys } from '@threadwork/storage'
import { Queue, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { type DeliveryJob, RETRY_SCHEDULE_MS, createAttempt } from '@threadwork/webhook-delivery'
import { createDeliveryProcessor } from './deliver.js'
import { DEFAULT_ENDPOINT_CONCURRENCY, DEFAULT_PAUSE_AFTER_FAILURES, DEFAULT_PROJECT_CONCURRENCY, throttleFanOut } from './fairness.js'
import { createFirstAttempts } from './first-attempts.js'
import { startOutboxConsumer } from './outbox-consumer.js'

export interface DispatcherOptions {
  /** Commands; `maxRetriesPerRequest: null` (a worker-role connection), as BullMQ requires. */
  redis: Redis
  /** Creates further connections (subscriber, BullMQ blocking reads). */
  connect: (name: string) => Redis
  prefix: string
  shards: number
  log: Logger
  concurrency: number
  /** WEBHOOK_ALLOW_PRIVATE: CIDRs/hosts (optionally `:port`) exempt from the SSRF guard (local development only). */
  allowPrivate: readonly string[]
  /** WEBHOOK_DNS_TIMEOUT_MS: deadline of one DNS resolution (default 5 s). */
  dnsTimeoutMs?: number
  schedule?: readonly number[]
  timeoutMs: number
  lockMs: number
  reclaimIdleMs: number
  pollMs: number
  eventRetentionSeconds: number
  /** Consumer name in the `dispatch` group; default host-pid. */
  consumer?: string
  /** Outbox trim period (default 10 s). */
  trimEveryMs?: number
  /** Called after every delivery attempt (metrics). */
  onAttempt?: (attempt: { outcome: string; status: number | null; latencyMs: number }) => void
  /** WEBHOOK_PROJECT_CONCURRENCY: attempts of one project in flight at once, across processes (default 25). */
  projectConcurrency?: number
  /** WEBHOOK_ENDPOINT_CONCURRENCY: attempts to one endpoint (or a project's callback_urls) in flight at once (default 10). */
  endpointConcurrency?: number
  /** WEBHOOK_PAUSE_AFTER_FAILURES: failed attempts in a row that pause an endpoint (default 5). */
  pauseAfterFailures?: number
  /** The first pause's length, doubling from there (default 30 s; tests shorten it to see a pause end). */
  firstPauseMs?: number
}

let dispatchersStarted = 0

/**
 * The webhook dispatcher: the outbox consumer (events in) and one BullMQ worker per shard queue
 * `webhooks-{s<N>}` (signed POSTs out, retries). Returns `close()` for a graceful stop.
 */
export async function startDispatcher(opts: DispatcherOptions) {
  const k = keys(opts.prefix, opts.shards)
  const endpoints = createWebhookEndpointStore(opts.redis, k)
  const queues = Array.from({ length: k.shards }, (_, shard) => new Queue<DeliveryJob>(k.webhookQueue(shard), { connection: opts.redis, prefix: k.prefix }))
  // The shared connection's owner logs its trouble once per outage; unheard, BullMQ prints each attempt.
  for (const q of queues) q.on('error', () => {})
  const http = createSafeDispatcher({ allowList: [...opts.allowPrivate], dnsTimeoutMs: opts.dnsTimeoutMs })

  const slots = createDeliverySlots(opts.redis, k)
  const projectConcurrency = opts.projectConcurrency ?? DEFAULT_PROJECT_CONCURRENCY
  const pauseAfterFailures = opts.pauseAfterFailures ?? DEFAULT_PAUSE_AFTER_FAILURES
  const endpointConcurrency = opts.endpointConcurrency ?? DEFAULT_ENDPOINT_CONCURRENCY
  const attempt = createAttempt({
    endpoints,
    http,
    log: opts.log,
    schedule: opts.schedule ?? RETRY_SCHEDULE_MS,
    timeoutMs: opts.timeoutMs,
    onAttempt: opts.onAttempt,
    pauseAfterFailures,
    firstPauseMs: opts.firstPauseMs,
  })
  const processor = createDeliveryProcessor({
    redis: opts.redis,
    keys: k,
    endpoints,
    queues,
    log: opts.log,
    attempt,
    timeoutMs: opts.timeoutMs,
    // A promote normally wakes the next job at once; these bound the cost of a missed one.
    fifoRecheckMs: 1_000,
    fifoMaxWaitMs: 60_000,
    slots,
    projectConcurrency,
    endpointConcurrency,
  })
  const workers = queues.map(
    (q) =>
      new Worker<DeliveryJob>(q.name, processor, {
        connection: opts.connect('threadwork-webhooks-bullmq'),
        prefix: k.prefix,
        // I/O-bound: most of a job is waiting on a receiver.
        concurrency: opts.concurrency,
        // A SIGKILLed dispatcher's in-flight deliveries are retried after about lockMs + stalledInterval.
        lockDuration: opts.lockMs,
        stalledInterval: Math.max(500, Math.floor(opts.lockMs / 2)),
        maxStalledCount: 5,
      }),
  )
  for (const w of workers) {
    // Connection errors are logged once per outage by the connection's owner (opts.connect).
    w.on('error', (err) => isRedisConnectionError(err) || opts.log.error({ err: err.message }, 'webhook worker error'))
    w.on('failed', (job, err) => opts.log.warn({ jobId: job?.id, err: err.message }, 'webhook job failed'))
  }

  const subscriber = opts.connect('threadwork-webhooks-sub')
  // Two dispatchers in one process (tests) must not share a name: a consumer's own pending
  // entries are its own to order (first-attempts.ts). The first keeps host-pid, so a restarted
  // container (same pid) re-reads what it left pending.
  const instance = ++dispatchersStarted
  const consumerName = opts.consumer ?? (instance === 1 ? `${hostname()}-${process.pid}` : `${hostname()}-${process.pid}-${instance}`)
  let consumer: ReturnType<typeof startOutboxConsumer> | undefined
  const firstAttempts = createFirstAttempts({
    redis: opts.redis,
    keys: k,
    endpoints,
    queues,
    slots,
    scripts: createWebhookFirstAttemptScripts(opts.redis, k),
    attempt,
    log: opts.log,
    consumer: consumerName,
    maxInFlight: opts.concurrency,
    projectConcurrency,
    endpointConcurrency,
    timeoutMs: opts.timeoutMs,
    eventRetentionSeconds: opts.eventRetentionSeconds,
    reclaimIdleMs: opts.reclaimIdleMs,
    onStuck: (streamKey) => consumer?.stuck(streamKey),
  })
  consumer = startOutboxConsumer({
    redis: opts.redis,
    subscriber,
    connect: opts.connect,
    keys: k,
    endpoints,
    queues,
    log: opts.log,
    consumer: consumerName,
    pollMs: opts.pollMs,
    reclaimIdleMs: opts.reclaimIdleMs,
    eventRetentionSeconds: opts.eventRetentionSeconds,
    trimEveryMs: opts.trimEveryMs,
    throttle: (jobs) => throttleFanOut(jobs, slots.inFlight, projectConcurrency),
    firstAttempts,
  })
  await consumer.start()

  return {
    queues,
    drainOutbox: consumer.drainAll,
    /** Stops reading the outbox, lets in-flight attempts finish, closes connections. */
    async close(): Promise<void> {
      await consumer.close()
      await Promise.all(workers.map((w) => w.close()))
      await Promise.all(queues.map((q) => q.close()))
      subscriber.disconnect()
      await http.close()
    },
  }
}
export type WebhookDispatcher = Awaited<ReturnType<typeof startDispatcher>>
