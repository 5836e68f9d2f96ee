import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
// `@threadwork/api` and the packages below are peerDependencies of test-utils, not dependencies:
// every workspace package devDepends on test-utils, so a real dependency edge would make a cycle,
// and turbo refuses to run any task on a cyclic graph. Every consumer of this helper has them.
import { type AppDeps, createApp } from '@threadwork/api/app'
import { createApiServer } from '@threadwork/api/server'
import { ApiError } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { type Operations, createOperations } from '@threadwork/api/operations'
import { createServices } from '@threadwork/api/services'
import { createWebhookPolicy } from '@threadwork/api/webhook-policy'
import { createStreaming } from '@threadwork/api/streaming'
import { type ProviderRoute, type ProviderRouter, createModelCheck, createProviderRouter } from '@threadwork/model-client'
import { type DrainQueues, createDrainQueues } from '@threadwork/queue'
import { embedderFromSettings } from '@threadwork/retrieval'
import { type ObjectStorage, createObjectStorage } from '@threadwork/object-storage'
import { type RedisClient, type Stores, createRedis, createStores, waitReady } from '@threadwork/storage'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from './redis-fixture.js'

export type ModelsCatalog = AppDeps['models']

export interface ApiServerOptions {
  /** EMBEDDING_MODEL for vector store searches (served by `upstreamBaseURL`, e.g. the fake's /v1/embeddings); absent: keyword-only. */
  embeddingModel?: string
  /** API key → project. Default: one key, {@link DEFAULT_TEST_API_KEY}, in project `test`. */
  apiKeys?: Map<string, string>
  /** Redis key prefix. Default: a fresh one, so servers in parallel files never share keys. */
  prefix?: string
  redisUrl?: string
  /** Default: no models, and `retrieve` answers OpenAI's 404. */
  models?: ModelsCatalog
  /** Request body limit; default the API's own (2 MiB). */
  maxBodyBytes?: number
  /** The upstream model server runs go to (e.g. a fake upstream's baseURL); without it, no model is served. */
  upstreamBaseURL?: string
  /** Providers-file routes (model glob → upstream), checked before `upstreamBaseURL`, as PROVIDERS_FILE is. */
  providerRoutes?: ProviderRoute[]
  /** How long a provider's model list is trusted when checking model names (default 30 s). */
  modelListTtlMs?: number
  /** Default 600 (OpenAI's). */
  runExpiresAfterSeconds?: number
  /** A connection to use instead of `redisUrl` (e.g. an ioredis `Cluster`); `close()` disconnects it. */
  redis?: RedisClient
  /** REDIS_SHARDS (hash-tagged shards of the key space and queues); default 1. */
  shards?: number
  /** The operator surface as `pnpm start` has it: `/metrics`, durable writes, and `/admin/queues` when `adminToken` is set. */
  operations?: { adminToken?: string; durableWrites?: 'auto' | 'off'; trustProxy?: boolean }
  /** Where the API logs (default: silent, or TEST_LOG_LEVEL). */
  log?: AppDeps['log']
  /**
   * WEBHOOK_ALLOW_PRIVATE for the registration check of webhook URLs. Default `['127.0.0.1/32']`:
   * tests' receivers listen there. `[]` gives production's behaviour.
   */
  webhookAllowPrivate?: string[]
  /** WEBHOOK_MAX_ENDPOINTS_PER_PROJECT; default the API's (16). */
  webhookMaxEndpointsPerProject?: number
  /** `stream: true` responses: idle timeout (STREAM_IDLE_TIMEOUT_MS) and quiet time before the run is checked. */
  streaming?: { idleTimeoutMs?: number; checkAfterMs?: number; keepAliveMs?: number; maxStreamsPerReader?: number }
  /** Where file bytes go. Default: a fresh temporary directory, removed by `close()`. */
  objectStorage?: ObjectStorage
  /** MAX_FILE_BYTES; default the API's own (512 MB). */
  maxFileBytes?: number
}

export interface ApiServer {
  /** What the `openai` SDK takes as `baseURL`: `http://127.0.0.1:<port>/v1`. */
  baseURL: string
  /** The server's origin, for raw `fetch` (`/healthz`, `/openapi.json`, unknown routes). */
  url: string
  /** The first configured API key, for the common single-key case. */
  apiKey: string
  prefix: string
  /** The server's own Redis connection (request role: fails fast when Redis is down). */
  redis: Redis
  /** Stores on the server's prefix, to seed data without going through HTTP. */
  stores: Stores
  queues: DrainQueues
  /** The object storage the server's files use. */
  objectStorage: ObjectStorage
  /** Its root directory when the default local storage is used, else null. */
  storageDir: string | null
  /** The file and upload services the server uses (e.g. to register a deletion listener, or to move the clock). */
  services: ReturnType<typeof createServices>
  /** The app and what it was built from, to serve it another way beside this server (services/api fast-path.test.ts). */
  app: ReturnType<typeof createApp>
  deps: AppDeps
  /** Stops accepting, drops open keep-alive connections, deletes the prefix's keys, disconnects. */
  close(): Promise<void>
}

export const DEFAULT_TEST_API_KEY = 'sk-threadwork-test'

const noModels: ModelsCatalog = {
  list: async () => [],
  retrieve: async (id) => Promise.reject(ApiError.notFound('model', id)),
}

/**
 * Starts the real HTTP API (`createApp` with real Redis stores) on a free port of 127.0.0.1, so
 * tests and benches can drive it with the official `openai` SDK exactly as a user would.
 */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const apiKeys = opts.apiKeys ?? new Map([[DEFAULT_TEST_API_KEY, 'test']])
  const prefix = opts.prefix ?? uniquePrefix('api')
  const redis = (opts.redis ?? createRedis(opts.redisUrl ?? TEST_REDIS_URL, { role: 'request', name: 'threadwork-test-api', coalesceWrites: true })) as Redis
  await waitReady(redis)
  const stores = createStores(redis, prefix, opts.shards ?? 1)
  const queues = createDrainQueues(redis, stores.keys)
  const log = opts.log ?? createLogger({ service: 'api-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const ops: Operations | null = opts.operations
    ? createOperations({
        redis,
        stores,
        drainQueues: queues,
        log,
        adminToken: opts.operations.adminToken,
        durableWrites: opts.operations.durableWrites ?? 'auto',
        trustProxy: opts.operations.trustProxy,
      })
    : null
  const router: ProviderRouter = createProviderRouter({
    defaultProvider: opts.upstreamBaseURL ? { baseURL: opts.upstreamBaseURL, apiKey: 'test' } : null,
    routes: opts.providerRoutes ?? [],
  })
  const storageDir = opts.objectStorage ? null : await mkdtemp(join(tmpdir(), 'tw-api-storage-'))
  const objectStorage = opts.objectStorage ?? createObjectStorage({ kind: 'local', root: storageDir! })
  const services = createServices({
    stores,
    queues,
    modelStatus: createModelCheck(router, { ttlMs: opts.modelListTtlMs }),
    runExpiresAfterSeconds: opts.runExpiresAfterSeconds ?? 600,
    publishCancel: async (runId) => void (await redis.publish(stores.keys.cancelChannel, runId)),
    objectStorage,
    maxFileBytes: opts.maxFileBytes,
    embedder: embedderFromSettings(router, { EMBEDDING_MODEL: opts.embeddingModel }),
  })
  const streamer = createStreaming({ runs: services.runs, stores, log, ...opts.streaming })
  const deps: AppDeps = {
    redis,
    stores,
    ...services,
    streamer,
    apiKeys,
    models: opts.models ?? noModels,
    log,
    maxBodyBytes: opts.maxBodyBytes,
    admin: ops?.admin ?? null,
    metrics: ops?.metrics ?? null,
    durability: ops?.durability ?? null,
    webhookPolicy: createWebhookPolicy({
      allowPrivate: opts.webhookAllowPrivate ?? ['127.0.0.1/32'],
      maxEndpointsPerProject: opts.webhookMaxEndpointsPerProject,
    }),
  }
  const app = createApp(deps)

  // As `pnpm start` serves it: the fast path (services/api fast-path/) in front of the app.
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createApiServer(app, deps, '127.0.0.1').listen(0, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  let closed = false
  return {
    baseURL: `${url}/v1`,
    url,
    apiKey: apiKeys.keys().next().value ?? DEFAULT_TEST_API_KEY,
    prefix,
    redis,
    stores,
    queues,
    objectStorage,
    storageDir,
    services,
    app,
    deps,
    async close() {
      if (closed) return
      closed = true
      streamer.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // The SDK's fetch keeps sockets alive; without this, close() waits for their idle timeout.
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
      await queues.close()
      await services.closeQueues()
      await ops?.close()
      await deleteKeysWithPrefix(redis, prefix)
      redis.disconnect()
      if (storageDir) await rm(storageDir, { recursive: true, force: true })
    },
  }
}
