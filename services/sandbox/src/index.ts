import { SandboxEnv, loadEnvOrExit } from '@threadwork/config'
import { createLogger } from '@threadwork/logger'
import { createRedisClient, logRedisTroubleOnce } from '@threadwork/storage'
import type { Redis } from 'ioredis'
import { startSandboxServer } from './server.js'

const env = loadEnvOrExit(SandboxEnv)
const log = createLogger({ service: 'sandbox', level: env.LOG_LEVEL })
const redis = createRedisClient({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES }, { role: 'worker', name: 'threadwork-sandbox' }) as Redis
logRedisTroubleOnce(redis, log)

const server = await startSandboxServer(env, { redis, log: (level, msg, fields) => log[level](fields ?? {}, msg) })

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'shutting down: withdrawing from the registry, ending sessions')
  const force = setTimeout(() => process.exit(1), 10_000)
  force.unref()
  await server.close().catch((err: Error) => log.error({ err: err.message }, 'error while closing'))
  redis.disconnect()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
log.info({ url: server.url, healthy: server.unhealthy === null }, 'sandbox ready')
