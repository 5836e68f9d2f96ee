import type { Logger } from '@threadwork/logger'
import type { DrainQueues } from '@threadwork/queue'
import type { RedisClient, Stores } from '@threadwork/storage'
import { Queue } from 'bullmq'
import type { AdminOptions } from './admin/admin-routes.js'
import { type ApiMetrics, createApiMetrics } from './metrics/api-metrics.js'
import { type Durability, createDurability } from './middleware/durable-ack.js'

export interface OperationsOptions {
  redis: RedisClient
  stores: Stores
  drainQueues: DrainQueues
  log: Logger
  /** `ADMIN_TOKEN`; unset: no dashboard. */
  adminToken?: string
  /** `DURABLE_WRITES`: `auto` detects what Redis offers (durable-ack.ts); `off` never waits. */
  durableWrites?: 'auto' | 'off'
  durableWaitTimeoutMs?: number
  processMetrics?: boolean
  metricsToken?: string
  /** The API listens beyond loopback: `/metrics` then needs `metricsToken` (api-metrics.ts). */
  metricsPublicBind?: boolean
  /** `TRUST_PROXY`: honour X-Forwarded-Proto/Host/For from a TLS-terminating proxy (dashboard origin check, Secure cookie). */
  trustProxy?: boolean
}

export interface Operations {
  admin: AdminOptions | null
  metrics: ApiMetrics
  durability: Durability | null
  /** Every queue the dashboard and metrics see, in order: drain shards, then webhook shards. */
  queues: readonly Queue[]
  close(): Promise<void>
}

/**
 * What an operator needs besides the API itself: the queue dashboard, `/metrics` and the
 * durability wait, over every queue — the drain queue of each shard and the webhook delivery
 * queue of each shard (`webhooks-{sN}`, services/webhooks) — on the API's own connection.
 */
export function createOperations(opts: OperationsOptions): Operations {
  const k = opts.stores.keys
  const webhookQueues = Array.from({ length: k.shards }, (_, shard) => new Queue(k.webhookQueue(shard), { connection: opts.redis, prefix: k.prefix }))
  const queues: Queue[] = [...(opts.drainQueues.queues as unknown as Queue[]), ...webhookQueues]
  // The queues share the API's connection, whose errors its owner logs once; without a listener
  // BullMQ would print every reconnect attempt while Redis is down.
  for (const q of queues) if (q.listenerCount('error') === 0) q.on('error', () => {})
  const metrics = createApiMetrics({ redis: opts.redis, stores: opts.stores, queues, processMetrics: opts.processMetrics, token: opts.metricsToken, publicBind: opts.metricsPublicBind })
  const durability =
    opts.durableWrites === 'off'
      ? null
      : createDurability(opts.redis, {
          timeoutMs: opts.durableWaitTimeoutMs ?? 1000,
          observe: (s) => metrics.durableWait.observe(s),
          onDetected: (info) => {
            const fields = { redisVersion: info.version, appendfsync: info.appendfsync, mode: info.mode }
            if (info.mode === 'waitaof') opts.log.info(fields, 'durable writes: WAITAOF after every accepted write')
            else if (info.mode === 'fsync-always') opts.log.info(fields, 'durable writes: Redis fsyncs every write (appendfsync always)')
            else if (info.mode === 'everysec')
              opts.log.warn(
                fields,
                'durable writes NOT guaranteed: Redis < 7.2 with appendfsync everysec can lose ~1 s of acknowledged writes; set appendfsync always (infra/redis.conf)',
              )
            else opts.log.warn(fields, 'durable writes NOT guaranteed: AOF is off, acknowledged writes live in memory only')
          },
        })
  return {
    admin: opts.adminToken ? { token: opts.adminToken, queues, redis: opts.redis, prefix: k.prefix, trustProxy: opts.trustProxy } : null,
    metrics,
    durability,
    queues,
    async close() {
      await Promise.all(webhookQueues.map((q) => q.close()))
    },
  }
}
