import { serve } from '@hono/node-server'
import { ApiEnv, DEV_API_KEYS, loadEnvOrExit } from '@threadwork/config'
import { createLogger } from '@threadwork/logger'
import { routerFromSettings } from '@threadwork/model-client'
import { createDrainQueues } from '@threadwork/queue'
import { createRedis, createStores } from '@threadwork/storage'
import { createApp } from './app.js'
import { createModels } from './models.js'
import { createServices } from './services.js'

const env = loadEnvOrExit(ApiEnv)
const log = createLogger({ service: 'api', level: env.LOG_LEVEL })
if (!env.API_KEYS) log.warn('API_KEYS is unset: accepting only the development key from the README (project "default")')

const router = await routerFromSettings(env).catch((err: Error) => {
  process.stderr.write(`Invalid configuration: PROVIDERS_FILE ${err.message}\n`)
  process.exit(1)
})
const redis = createRedis(env.REDIS_URL, { role: 'request', name: 'threadwork-api' })
redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'))
const stores = createStores(redis, env.REDIS_PREFIX, env.REDIS_SHARDS)
const queues = createDrainQueues(redis, stores.keys)

let shuttingDown = false
const app = createApp({
  redis,
  stores,
  apiKeys: env.API_KEYS ?? DEV_API_KEYS,
  models: createModels(router),
  ...createServices({
    stores,
    queues,
    servesModel: (model) => router.resolve(model) !== null,
    runExpiresAfterSeconds: env.RUN_EXPIRES_AFTER_SECONDS,
    publishCancel: async (runId) => void (await redis.publish(stores.keys.cancelChannel, runId)),
  }),
  log,
  maxBodyBytes: env.MAX_BODY_BYTES,
  isShuttingDown: () => shuttingDown,
})

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  log.info({ port: info.port }, 'api listening')
})

async function shutdown(signal: string) {
  if (shuttingDown) return
  shuttingDown = true
  log.info({ signal }, 'shutting down: readiness off, draining connections')
  // Give load balancers a moment to see /readyz fail before we stop accepting.
  await new Promise((r) => setTimeout(r, Number(process.env.SHUTDOWN_READINESS_DELAY_MS ?? 0)))
  server.close(async () => {
    await queues.close().catch(() => {})
    redis.disconnect()
    process.exit(0)
  })
  setTimeout(() => process.exit(0), 10_000).unref()
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
