import {
  type ApiServer,
  type ApiServerOptions,
  type FakeUpstream,
  type ServiceProcess,
  startApiServer,
  startFakeUpstream,
  startServiceProcess,
} from '@threadwork/test-utils'
import OpenAI from 'openai'
import { expect } from 'vitest'

/**
 * A vector store stack: a fake upstream (embeddings), the real API in-process with its own storage
 * directory, and real worker processes on the same Redis prefix and storage directory.
 */
export interface VectorStack {
  upstream: FakeUpstream
  api: ApiServer
  client: OpenAI
  workerEnv: Record<string, string>
  startWorker(env?: Record<string, string>): Promise<ServiceProcess>
  killWorkers(): Promise<void>
  close(): Promise<void>
}

export const EMBEDDING_MODEL = 'text-embedding-3-large'

export async function startVectorStack(opts: { api?: ApiServerOptions; worker?: Record<string, string>; workers?: number } = {}): Promise<VectorStack> {
  const upstream = await startFakeUpstream()
  // Hybrid search: the fake upstream's /v1/embeddings (hashed bag of words) embeds chunks and queries.
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, embeddingModel: EMBEDDING_MODEL, ...opts.api })
  const workerEnv = {
    REDIS_PREFIX: api.prefix,
    UPSTREAM_BASE_URL: upstream.baseURL,
    UPSTREAM_API_KEY: 'x',
    STORAGE_DIR: api.storageDir!,
    EMBEDDING_MODEL,
    // A crashed worker's ingestion comes back within ~1.5× this.
    WORKER_LOCK_MS: '2000',
    RECONCILE_EVERY_MS: '1000',
    RECONCILE_STALE_MS: '2000',
    ...opts.worker,
  }
  const workers: ServiceProcess[] = []
  const stack: VectorStack = {
    upstream,
    api,
    client: new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 }),
    workerEnv,
    async startWorker(env = {}) {
      const w = await startServiceProcess('worker', { ...workerEnv, ...env })
      workers.push(w)
      return w
    },
    async killWorkers() {
      const all = workers.splice(0)
      for (const w of all) w.kill('SIGKILL')
      await Promise.all(all.map((w) => w.exited))
    },
    async close() {
      await stack.killWorkers()
      await api.close()
      await upstream.close()
    },
  }
  for (let i = 0; i < (opts.workers ?? 1); i++) await stack.startWorker()
  return stack
}

/** Polls a vector store until no file is in progress; returns it. */
export async function storeSettled(client: OpenAI, id: string, timeoutMs = 30_000): Promise<OpenAI.VectorStores.VectorStore> {
  let last: OpenAI.VectorStores.VectorStore | undefined
  await expect
    .poll(
      async () => {
        last = await client.vectorStores.retrieve(id)
        return last.file_counts.in_progress === 0 && last.status !== 'in_progress'
      },
      { timeout: timeoutMs, interval: 100 },
    )
    .toBe(true)
  return last!
}

/** A text document of `n` numbered sentences about `topic` (distinct words per file for keyword search). */
export const document = (topic: string, n = 20): string =>
  Array.from({ length: n }, (_, i) => `Section ${i + 1} of the ${topic} manual explains ${topic} procedure number ${i + 1} in careful detail.`).join('\n')
