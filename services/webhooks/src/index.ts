import { WebhooksEnv, loadEnvOrExit } from '@threadwork/config'
import { createLogger } from '@threadwork/logger'
import { createRedisClient, logRedisTroubleOnce } from '@threadwork/storage'
import type { Redis } from 'ioredis'
import { startDispatcher } from './dispatcher.js'
import { createWebhookMetrics } from './metrics.js'

const env = loadEnvOrExit(WebhooksEnv)
// Buffered (as the API's): one 'webhook attempt' line per attempt was its own write to stdout,
// a pipe whose reader each write woke (issue 14).
const log = createLogger({ service: 'webhooks', level: env.LOG_LEVEL, bufferMs: 100 })
if (env.WEBHOOK_ALLOW_PRIVATE.length > 0) log.warn({ allow: env.WEBHOOK_ALLOW_PRIVATE }, 'WEBHOOK_ALLOW_PRIVATE is set: the SSRF guard lets these through (local development only)')

// Every connection blocks and retries forever on Redis (BullMQ requires maxRetriesPerRequest: null).
const connect = (name: string, opts: { coalesceWrites?: boolean } = {}) => {
  // REDIS_CLUSTER_NODES set: an ioredis Cluster. It answers the commands used here like a single
  // connection (every key is hash-tagged), hence the cast.
  const c = createRedisClient({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES }, { role: 'worker', name, ...opts }) as Redis
  logRedisTroubleOnce(c, log, { connection: name })
  return c
}
// The plain command connection sends commands issued together in one syscall (storage
// coalesce-writes.ts); the others (outbox followers' blocking reads, BullMQ workers, the
// subscriber) come from `connect` without it.
const redis = connect('threadwork-webhooks', { coalesceWrites: true })
const metrics = createWebhookMetrics()

const dispatcher = await startDispatcher({
  redis,
  connect,
  prefix: env.REDIS_PREFIX,
  shards: env.REDIS_SHARDS,
  log,
  concurrency: env.WEBHOOK_CONCURRENCY,
  allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
  dnsTimeoutMs: env.WEBHOOK_DNS_TIMEOUT_MS,
  projectConcurrency: env.WEBHOOK_PROJECT_CONCURRENCY,
  endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
  pauseAfterFailures: env.WEBHOOK_PAUSE_AFTER_FAILURES,
  schedule: env.WEBHOOK_RETRY_SCHEDULE_MS,
  timeoutMs: env.WEBHOOK_TIMEOUT_MS,
  lockMs: env.WEBHOOK_LOCK_MS,
  reclaimIdleMs: env.WEBHOOK_RECLAIM_IDLE_MS,
  pollMs: env.WEBHOOK_POLL_MS,
  eventRetentionSeconds: env.WEBHOOK_EVENT_RETENTION_SECONDS,
  onAttempt: metrics.onAttempt,
})
const metricsServer = env.METRICS_PORT !== undefined ? await metrics.serve(env.METRICS_PORT) : null
if (metricsServer) log.info({ port: (metricsServer.address() as { port: number }).port }, 'webhooks metrics on /metrics')

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'shutting down: finishing in-flight deliveries')
  // An attempt takes at most WEBHOOK_TIMEOUT_MS; past that, exit anyway (the lock lapses and
  // another dispatcher retries the job).
  const force = setTimeout(() => process.exit(1), env.WEBHOOK_TIMEOUT_MS + 5_000)
  force.unref()
  try {
    await dispatcher.close()
  } catch (err) {
    log.error({ err: (err as Error).message }, 'error while closing')
  }
  metricsServer?.close()
  redis.disconnect()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// Ready only once SIGTERM/SIGINT are handled: a signal right after this line must be graceful.
log.info({ shards: env.REDIS_SHARDS, concurrency: env.WEBHOOK_CONCURRENCY }, 'webhook dispatcher ready')
// Out at once: supervisors and tests wait for this line.
log.flush()
