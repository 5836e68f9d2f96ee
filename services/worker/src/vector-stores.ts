import { buffer } from 'node:stream/consumers'
import type { FileService } from '@threadwork/files'
import type { Logger } from '@threadwork/logger'
import type { ObjectStorage } from '@threadwork/object-storage'
import { type IngestQueues, createIngestQueue } from '@threadwork/queue'
import { type Embedder, chunkText, chunkingOptionsOf, dropVectorIndex, extractText, openVectorIndex } from '@threadwork/retrieval'
import { type RedisClient, type Stores, createIngestStore, isRedisConnectionError } from '@threadwork/storage'
import { VECTOR_INDEX_NAME, createVectorStoreSearch } from '@threadwork/vector-stores'
import { type Job, Worker } from 'bullmq'
import { createIngestProcessor } from './processors/ingest-vector-store.js'
import { createIngestReconcileProcessor } from './processors/reconcile-ingest.js'
import type { FileSearchBackend } from './tools/file-search.js'

export interface VectorStoreWorkerDeps {
  stores: Stores
  /** Connection for the ingest queue's producer side (reconciler re-adds). */
  redis: RedisClient
  /** A fresh connection for the BullMQ Worker (blocking). */
  workerConnection: () => RedisClient
  files: FileService
  storage: ObjectStorage
  embedder: Embedder | null
  log: Logger
  concurrency: number
  lockMs: number
  maxFileAttempts: number
  /** Files of one store ingested in one index commit (INGEST_BATCH_FILES). */
  batchMaxFiles: number
  reconcileEveryMs: number
  reconcileStaleMs: number
}

/**
 * The worker's vector store side: the ingest queue's BullMQ Worker (per-store drains: parse,
 * chunk, embed, index; the reconciler) and the search backend of file_search in runs.
 */
export function createVectorStoreWorker(deps: VectorStoreWorkerDeps): {
  search: FileSearchBackend
  start(): Promise<Worker>
  close(): Promise<void>
} {
  const location = deps.storage.lanceLocation(VECTOR_INDEX_NAME)
  const ingestStore = createIngestStore(deps.redis, deps.stores.keys)
  const queues: IngestQueues = createIngestQueue(deps.redis, deps.stores.keys)
  const openIndex = (id: string) =>
    openVectorIndex(location, id, {
      embedder: deps.embedder,
      onMaintenanceError: (err) => deps.log.warn({ vectorStoreId: id, err: err.message }, 'vector store index maintenance failed'),
    })
  const embedder = deps.embedder

  const drain = createIngestProcessor({
    ingest: ingestStore,
    log: deps.log,
    async readFile(project, fileId) {
      const content = await deps.files.openContent(project, fileId)
      return { bytes: new Uint8Array(await buffer(content.stream)), filename: content.filename, contentType: content.contentType }
    },
    extractText,
    chunk: (text, strategy) => chunkText(text, chunkingOptionsOf(strategy.type === 'static' ? strategy : null)),
    embed: embedder ? async (texts) => (await embedder.embed(texts)).vectors : null,
    openIndex,
    dropIndex: (id) => dropVectorIndex(location, id),
    maxFileAttempts: deps.maxFileAttempts,
    batchMaxFiles: deps.batchMaxFiles,
  })
  const reconcile = createIngestReconcileProcessor(ingestStore, queues, deps.log, deps.reconcileStaleMs)
  const search = createVectorStoreSearch({
    stores: deps.stores.vectorStores,
    openIndex,
    fileText: () => Promise.reject(new Error('file content is served by the API')),
  })
  let worker: Worker | null = null

  return {
    search: {
      search: (project, id, req, signal) => search.searchForRun(project, id, req, signal),
      waitUntilReady: (project, id, timeoutMs, signal) => search.waitUntilReady(project, id, timeoutMs, signal),
    },
    async start() {
      worker = new Worker(
        queues.queue.name,
        async (job: Job) => {
          if (job.name === 'ingest-drain') {
            const { project, vectorStoreId } = job.data as { project: string; vectorStoreId: string }
            return drain(project, vectorStoreId)
          }
          if (job.name === 'ingest-reconcile') return reconcile()
          throw new Error(`unknown job ${job.name}`)
        },
        {
          connection: deps.workerConnection(),
          prefix: deps.stores.keys.prefix,
          concurrency: deps.concurrency,
          // A SIGKILLed worker's drain comes back after at most lockDuration + stalledInterval.
          lockDuration: deps.lockMs,
          stalledInterval: Math.max(1000, Math.floor(deps.lockMs / 2)),
          maxStalledCount: 3,
        },
      )
      // Connection errors are logged once per outage by the connection's owner (workerConnection).
      worker.on('error', (err) => isRedisConnectionError(err) || deps.log.error({ err: err.message }, 'ingest worker error'))
      worker.on('failed', (job, err) =>
        deps.log.warn({ job: job?.name, vectorStoreId: (job?.data as { vectorStoreId?: string })?.vectorStoreId, err: err.message }, 'ingest job failed'),
      )
      await queues.installReconciler(deps.reconcileEveryMs)
      return worker
    },
    async close() {
      await worker?.close()
      await queues.close()
    },
  }
}
