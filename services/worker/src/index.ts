import { WorkerEnv, exitOnConfigError, loadEnvOrExit } from '@threadwork/config'
import { createFileService } from '@threadwork/files'
import { createLogger } from '@threadwork/logger'
import { routerFromSettings, warmUpTokenizer } from '@threadwork/model-client'
import { createObjectStorage, storageConfigFromEnv } from '@threadwork/object-storage'
import { embedderFromSettings } from '@threadwork/retrieval'
import { type JobCatalog, createDrainQueues } from '@threadwork/queue'
import { hostname } from 'node:os'
import { createSafeDispatcher } from '@threadwork/egress'
import { DIRECT_CONSUMER_PREFIX, createRedisClient, createStores, isRedisConnectionError, logRedisTroubleOnce, observeRunCommits } from '@threadwork/storage'
import { type DeliveryJob, RETRY_SCHEDULE_MS } from '@threadwork/webhook-delivery'
import { type Job, Queue, Worker } from 'bullmq'
import { createCancelRegistry } from './cancel-registry.js'
import { createDirectCallbacks } from './direct-callbacks.js'
import { createDroppedLiveEvents, createLiveEvents } from './live-events.js'
import { createWorkerMetrics } from './metrics.js'
import { createDrainProcessor } from './processors/drain-thread.js'
import { createExpireProcessor } from './processors/expire-run.js'
import { createReconcileProcessor } from './processors/reconcile.js'
import { createClaimAndStartTurn, createStartTurn, prefetchTurn } from './processors/start-turn.js'
import { createRunExecutor } from './run-executor.js'
import { createBuiltins } from './tools/builtins.js'
import { createVectorStoreWorker } from './vector-stores.js'
import { createWakeupConsumer } from './wakeup-consumer.js'

const env = loadEnvOrExit(WorkerEnv)
// Buffered as the API's and the webhooks' (≥ 4 KB writes or every 100 ms, flushed at exit and
// after the ready line): unbuffered, the one 'run status' line per run status change was its own
// stdout write, ~3 % of the worker's busy time per turn in the cost bench's profile (issue 14).
const log = createLogger({ service: 'worker', level: env.LOG_LEVEL, bufferMs: 100 })
const router = await exitOnConfigError(() => routerFromSettings(env), { setting: 'PROVIDERS_FILE' })

// Workers block and retry forever on Redis (BullMQ requires maxRetriesPerRequest: null).
// REDIS_CLUSTER_NODES set: ioredis Cluster connections (every key and queue is hash-tagged).
const target = { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES }
// The plain command connection sends commands issued together in one syscall (storage
// coalesce-writes.ts); the blocking ones (wake-up reads, BullMQ workers, the subscriber) do not.
const redis = createRedisClient(target, { role: 'worker', name: 'threadwork-worker', coalesceWrites: true })
const subscriber = createRedisClient(target, { role: 'worker', name: 'threadwork-worker-sub' })
for (const c of [redis, subscriber]) logRedisTroubleOnce(c, log)
/** Every further connection (BullMQ workers' own) logs its trouble once per outage too. */
const connect = (name: string) => {
  const c = createRedisClient(target, { role: 'worker', name })
  logRedisTroubleOnce(c, log, { connection: name })
  return c
}
const stores = createStores(redis, env.REDIS_PREFIX, env.REDIS_SHARDS)
const queues = createDrainQueues(redis, stores.keys)
const cancels = createCancelRegistry()
const metrics = createWorkerMetrics({ processMetrics: true, inFlight: () => cancels.size })
metrics.observeStores(stores)
// One line per run status change, with its ids (never content: plans carry messages, not logged).
observeRunCommits(stores, ({ threadId, runId, plan, outcome }) => {
  if (!outcome.ok || !plan.run?.status) return
  const turnId = plan.pop?.startsWith('turn:') ? plan.pop.slice(5) : plan.internal?._turn || undefined
  log.info({ project: plan.project, threadId, runId, turnId, status: plan.run.status, lastErrorCode: plan.run.last_error?.code }, 'run status')
})
// A turn's first callback attempt made here, straight after its commit (direct-callbacks.ts): with
// the webhooks service's attempt settings (WebhookAttemptEnv, WEBHOOK_ALLOW_PRIVATE: give both the
// same). Not on a Cluster: the commit checks the project's webhook version, in another slot.
const direct =
  env.WORKER_DIRECT_CALLBACKS && !env.REDIS_CLUSTER_NODES?.length
    ? (() => {
        const webhookQueues = Array.from(
          { length: stores.keys.shards },
          (_, shard) => new Queue<DeliveryJob>(stores.keys.webhookQueue(shard), { connection: redis, prefix: stores.keys.prefix }),
        )
        for (const q of webhookQueues) q.on('error', () => {})
        const http = createSafeDispatcher({ allowList: [...env.WEBHOOK_ALLOW_PRIVATE], dnsTimeoutMs: env.WEBHOOK_DNS_TIMEOUT_MS })
        const callbacks = createDirectCallbacks({
          stores,
          queues: webhookQueues,
          http,
          allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
          log,
          consumer: `${DIRECT_CONSUMER_PREFIX}${hostname()}-${process.pid}`,
          schedule: env.WEBHOOK_RETRY_SCHEDULE_MS ?? RETRY_SCHEDULE_MS,
          timeoutMs: env.WEBHOOK_TIMEOUT_MS,
          eventRetentionSeconds: env.WEBHOOK_EVENT_RETENTION_SECONDS,
          projectConcurrency: env.WEBHOOK_PROJECT_CONCURRENCY,
          endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
          pauseAfterFailures: env.WEBHOOK_PAUSE_AFTER_FAILURES,
          reclaimIdleMs: env.WEBHOOK_RECLAIM_IDLE_MS,
          onOutcome: (outcome) => metrics.directCallback(outcome),
        })
        callbacks.install(stores.runs)
        return {
          start: () => callbacks.start(),
          async close() {
            await callbacks.close()
            await Promise.all(webhookQueues.map((q) => q.close()))
            await http.close()
          },
        }
      })()
    : null
await direct?.start()
await cancels.listen(subscriber, stores.keys.cancelChannel)
warmUpTokenizer()

// Built-in tools: code_interpreter (sandbox hosts, Files for inputs and outputs) and file_search.
const storage = createObjectStorage(storageConfigFromEnv(env))
const files = createFileService({ store: stores.files, storage, maxFileBytes: env.MAX_FILE_BYTES, log })
// Vector stores: ingestion drains (one writer per store) and file_search's search backend.
const embedder = exitOnConfigError(() => embedderFromSettings(router, env), { setting: '' })
const vectorStores = createVectorStoreWorker({
  stores,
  redis,
  workerConnection: () => connect('threadwork-worker-ingest'),
  files,
  storage,
  embedder,
  log,
  concurrency: env.INGEST_CONCURRENCY,
  lockMs: env.WORKER_LOCK_MS,
  maxFileAttempts: env.INGEST_MAX_FILE_ATTEMPTS,
  batchMaxFiles: env.INGEST_BATCH_FILES,
  reconcileEveryMs: env.RECONCILE_EVERY_MS,
  reconcileStaleMs: env.RECONCILE_STALE_MS,
})
const builtins = createBuiltins({ redis, keyPrefix: env.REDIS_PREFIX, sandboxToken: env.SANDBOX_TOKEN, files, search: vectorStores.search })

const executeRun = createRunExecutor({
  stores,
  router,
  live: metrics.observeLive(createLiveEvents(redis, stores.keys)),
  // Runs nobody streams write no deltas; time to first token is still measured on them.
  unreadLive: metrics.observeLive(createDroppedLiveEvents()),
  cancels,
  log,
  upstreamAttempts: env.UPSTREAM_MAX_ATTEMPTS,
  onUpstreamError: (code, final) => metrics.upstreamError(code, final),
  upstreamIdleTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
  builtins,
  readImage: async (project, fileId) => {
    const content = await files.openContent(project, fileId)
    const chunks: Buffer[] = []
    for await (const chunk of content.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    return { contentType: content.contentType, bytes: Buffer.concat(chunks) }
  },
})
const startTurn = createStartTurn({ stores, log, executeRun, cancels, runExpiresAfterSeconds: env.RUN_EXPIRES_AFTER_SECONDS })
// Set on SIGTERM/SIGINT (shutdown below); declared here because drains read it from the start.
let stopping = false
const drain = createDrainProcessor({
  stores,
  log,
  executeRun,
  startTurn,
  stopping: () => stopping,
  prefetchTurn: (threadId, hint) => prefetchTurn(stores, threadId, hint),
  claimAndStartTurn: createClaimAndStartTurn({ stores, cancels, runExpiresAfterSeconds: env.RUN_EXPIRES_AFTER_SECONDS }),
})
const expire = createExpireProcessor(stores, queues)
const reconcile = createReconcileProcessor(stores, log, env.RECONCILE_STALE_MS)
// Thread drains come from the shards' wake-up streams (issue 14: ~6 Redis commands a turn, not ~48).
const consumer = createWakeupConsumer({
  redis,
  connect: () => connect('threadwork-worker-wakeups'),
  keys: stores.keys,
  wakeups: stores.wakeups,
  drain,
  concurrency: env.WORKER_CONCURRENCY,
  leaseMs: env.WORKER_LOCK_MS,
  log,
  onDrain: (shard, outcome) => metrics.jobs.inc({ queue: stores.keys.drainQueue(shard), name: 'drain', outcome }),
})

async function processJob(job: Job<JobCatalog[keyof JobCatalog]>): Promise<unknown> {
  switch (job.name) {
    case 'drain':
      // Queued by an earlier version: now a wake-up like any other.
      return queues.enqueueDrain((job.data as JobCatalog['drain']).threadId)
    case 'expire': {
      // Delayed jobs queued before expiry moved to the deadlines set still arrive.
      const { threadId, runId } = job.data as JobCatalog['expire']
      return expire.expireRun(threadId, runId)
    }
    case 'reconcile': {
      const { shard } = job.data as JobCatalog['reconcile']
      const revived = await reconcile(shard)
      return { revived, overdue: await expire.sweep(shard) }
    }
    default:
      throw new Error(`unknown job ${job.name}`)
  }
}

/** The BullMQ lock of a reconciler tick (ms; see below). */
const RECONCILE_LOCK_MS = 30_000
const workers = queues.queues.map(
  (q) =>
    new Worker(q.name, processJob, {
      connection: connect('threadwork-worker-bullmq'),
      prefix: stores.keys.prefix,
      // Only the reconciler's ticks (and drain or expire jobs queued by earlier versions): short,
      // idempotent, and the next tick comes anyway, so a long lock costs nothing, while a short one
      // (WORKER_LOCK_MS is a drain's lease, 2 s in tests) made a tick on a starved process "stall"
      // and log its lost lock as an error (seen at load 15 in test/ops/redis-cluster).
      concurrency: 2,
      lockDuration: Math.max(env.WORKER_LOCK_MS, RECONCILE_LOCK_MS),
      stalledInterval: Math.floor(Math.max(env.WORKER_LOCK_MS, RECONCILE_LOCK_MS) / 2),
      maxStalledCount: 3,
    }),
)
for (const w of workers) {
  // Connection errors are logged once per outage on the connection itself (connect above).
  w.on('error', (err) => isRedisConnectionError(err) || log.error({ err: err.message }, 'worker error'))
  w.on('failed', (job, err) => {
    metrics.jobs.inc({ queue: w.name, name: job?.name ?? 'unknown', outcome: 'failed' })
    log.warn({ job: job?.name, jobId: job?.id, threadId: (job?.data as { threadId?: string } | undefined)?.threadId, err: err.message }, 'job failed')
  })
  w.on('completed', (job) => metrics.jobs.inc({ queue: w.name, name: job.name, outcome: 'completed' }))
}
const metricsServer = env.METRICS_PORT !== undefined ? await metrics.serve(env.METRICS_PORT) : null
if (metricsServer) log.info({ port: (metricsServer.address() as { port: number }).port }, 'worker metrics on /metrics')
await queues.installReconciler(env.RECONCILE_EVERY_MS)
consumer.start()
await vectorStores.start()

async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info({ signal, inFlight: cancels.size }, 'draining: no new jobs; finishing in-flight runs')
  const closing = Promise.all([...workers.map((w) => w.close()), consumer.close(), vectorStores.close()])
  const grace = setTimeout(() => {
    // Past the grace period, hand in-flight runs back: each enqueues its thread again and returns.
    const threads = cancels.abortAll('shutdown')
    log.warn({ handedBack: threads.length }, 'grace period over: handing runs back')
  }, env.SHUTDOWN_GRACE_SECONDS * 1000)
  await closing
  clearTimeout(grace)
  // The callbacks of the last turns: sent and settled (each within WEBHOOK_TIMEOUT_MS), or left pending for the webhooks service.
  await direct?.close()
  await queues.close()
  metricsServer?.close()
  redis.disconnect()
  subscriber.disconnect()
  log.info('worker stopped')
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// Ready only once SIGTERM/SIGINT are handled: a signal right after this line must be graceful.
log.info({ shards: workers.length, concurrency: env.WORKER_CONCURRENCY }, 'worker ready')
log.flush()
