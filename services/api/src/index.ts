import { ApiEnv, DEV_API_KEYS, apiListenHost, exitOnConfigError, isLoopbackHost, loadEnvOrExit } from '@threadwork/config'
import { createLogger } from '@threadwork/logger'
import { createModelCheck, routerFromSettings } from '@threadwork/model-client'
import { createObjectStorage, storageConfigFromEnv } from '@threadwork/object-storage'
import { createDrainQueues } from '@threadwork/queue'
import { createRedisClient, createStores, logRedisTroubleOnce } from '@threadwork/storage'
import { type AppDeps, createApp } from './app.js'
import { createApiServer } from './server.js'
import { createWebhookPolicy } from './webhook-policy.js'
import { createModels } from './models.js'
import { createOperations } from './operations.js'
import { probeProviders } from './provider-probe.js'
import { createServices } from './services.js'
import { embedderFromSettings } from '@threadwork/retrieval'
import { createStreaming } from './streaming/run-streamer.js'

/** How long start-up waits for Redis before listening anyway (ms). */
const REDIS_READY_WAIT_MS = 5_000

const env = loadEnvOrExit(ApiEnv)
const host = exitOnConfigError(() => apiListenHost(env))
// Buffered (up to 100 ms): one access-log line per request, each its own write, was ~16 % of the
// API's busy time on the turn path (issue 14).
const log = createLogger({ service: 'api', level: env.LOG_LEVEL, bufferMs: 100 })
if (!env.API_KEYS) log.info({ host }, 'API_KEYS is unset: loopback only, accepting the development key sk-threadwork-dev (project "default")')

const router = await exitOnConfigError(() => routerFromSettings(env), { setting: 'PROVIDERS_FILE' })
if (router.providers().length === 0) log.warn('no model provider configured: runs will fail until UPSTREAM_BASE_URL (or PROVIDERS_FILE) is set')
// Commands issued together leave in one syscall (storage coalesce-writes.ts); the streams'
// blocking readers are duplicates of this connection, which do not coalesce.
const redis = createRedisClient(
  { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
  { role: 'request', name: 'threadwork-api', coalesceWrites: true },
)
logRedisTroubleOnce(redis, log)
const stores = createStores(redis, env.REDIS_PREFIX, env.REDIS_SHARDS)
const queues = createDrainQueues(redis, stores.keys)
const ops = createOperations({
  redis,
  stores,
  drainQueues: queues,
  log,
  adminToken: env.ADMIN_TOKEN,
  durableWrites: env.DURABLE_WRITES,
  durableWaitTimeoutMs: env.DURABLE_WAIT_TIMEOUT_MS,
  metricsToken: env.METRICS_TOKEN,
  metricsPublicBind: !isLoopbackHost(host),
  processMetrics: true,
  trustProxy: env.TRUST_PROXY,
})
if (!env.ADMIN_TOKEN) log.info('ADMIN_TOKEN is unset: the queue dashboard (/admin/queues) is disabled')
if (!env.METRICS_TOKEN && !isLoopbackHost(host)) log.info({ host }, 'METRICS_TOKEN is unset: GET /metrics is refused on this public address until it is set')

// Vector store searches embed their queries with the model ingestion used (keyword-only without one).
const embedder = exitOnConfigError(() => embedderFromSettings(router, env), { setting: '' })

let shuttingDown = false
const services = createServices({
  stores,
  queues,
  modelStatus: createModelCheck(router, {
    onProviderError: (provider, err) =>
      log.warn({ provider: provider.name, err: (err as Error).message }, 'model list unavailable: accepting any model name for this provider'),
  }),
  runExpiresAfterSeconds: env.RUN_EXPIRES_AFTER_SECONDS,
  publishCancel: async (runId) => void (await redis.publish(stores.keys.cancelChannel, runId)),
  objectStorage: createObjectStorage(storageConfigFromEnv(env)),
  maxFileBytes: env.MAX_FILE_BYTES,
  log,
  embedder,
})
// Files past their expires_after and abandoned uploads are removed about once a minute.
const stopSweeper = services.files.startSweeper(60_000)
const streamer = createStreaming({ runs: services.runs, stores, log, idleTimeoutMs: env.STREAM_IDLE_TIMEOUT_MS })
const deps: AppDeps = {
  redis,
  stores,
  apiKeys: env.API_KEYS ?? DEV_API_KEYS,
  models: createModels(router),
  ...services,
  streamer,
  log,
  maxBodyBytes: env.MAX_BODY_BYTES,
  isShuttingDown: () => shuttingDown,
  admin: ops.admin,
  metrics: ops.metrics,
  durability: ops.durability,
  webhookPolicy: createWebhookPolicy({
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    dnsTimeoutMs: env.WEBHOOK_DNS_TIMEOUT_MS,
    maxEndpointsPerProject: env.WEBHOOK_MAX_ENDPOINTS_PER_PROJECT,
  }),
}
const app = createApp(deps)

// Listen once the request connection is ready: it has no offline queue (a request while Redis is
// down fails fast with 503), so a request arriving in the first milliseconds got 503 too. Redis
// unreachable at start: listen anyway after a few seconds, answering 503 until it is back.
await new Promise<void>((resolve) => {
  if (redis.status === 'ready') return resolve()
  const timer = setTimeout(resolve, REDIS_READY_WAIT_MS)
  redis.once('ready', () => {
    clearTimeout(timer)
    resolve()
  })
})

// The hot routes are answered on the Node request in front of Hono's stack, as it would answer them
// (fast-path/fast-path.ts); everything else, and anything unusual on those routes, goes to Hono.
const server = createApiServer(app, deps, host).listen(env.PORT, host, () => {
  const info = server.address() as { port: number }
  log.info({ host, port: info.port }, 'api listening')
  // Out at once: supervisors and tests wait for this line.
  log.flush()
  void probeProviders(router, log)
})
// A taken port is a first-run mistake (another Threadwork, or any server on 8080): one line naming
// the setting that moves it, as for other configuration errors, not Node's unhandled 'error' stack.
server.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err
  const why = err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed for this user'
  // Suggest a port that is not the one that failed (8081 was suggested even when 8081 was taken);
  // a refused port is a privileged one (below 1024), so the default is the one to suggest then.
  const other = err.code === 'EACCES' ? 8080 : env.PORT < 65535 ? env.PORT + 1 : env.PORT - 1
  process.stderr.write(`Invalid configuration: PORT ${env.PORT} on ${host} is ${why}: stop what listens there, or set another (e.g. PORT=${other} pnpm start)\n`)
  process.exit(1)
})

async function shutdown(signal: string) {
  if (shuttingDown) return
  shuttingDown = true
  log.info({ signal }, 'shutting down: readiness off, draining connections')
  // Give load balancers a moment to see /readyz fail before we stop accepting.
  await new Promise((r) => setTimeout(r, env.SHUTDOWN_READINESS_DELAY_MS))
  log.info('closing the listener: finishing in-flight requests')
  server.close(async () => {
    stopSweeper()
    await Promise.all([queues.close(), ops.close(), services.closeQueues()]).catch(() => {})
    redis.disconnect()
    log.info('api stopped')
    process.exit(0)
  })
  // Idle keep-alive sockets would hold close() open; busy ones close after their response
  // (the app sends `connection: close` while shutting down).
  ;(server as { closeIdleConnections?: () => void }).closeIdleConnections?.()
  // Run streams may last minutes: let them finish for a while, then end each with an `error`
  // event (the runs go on; clients read them with GET) so the process can exit in time.
  setTimeout(() => streamer.close(), 7_000).unref()
  setTimeout(() => {
    log.warn('in-flight requests still open after 10 s: exiting')
    process.exit(0)
  }, 10_000).unref()
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
