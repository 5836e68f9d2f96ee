import type { ApiServerOptions } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { expect } from 'vitest'
import { type RunStack, startRunStack } from './runs-support.js'

/**
 * A vector store stack: the runs stack (fake upstream, real API, real worker processes on the
 * API's prefix and storage directory) with hybrid search through the fake upstream's embeddings.
 */
export type VectorStack = RunStack

export const EMBEDDING_MODEL = 'text-embedding-3-large'

export function startVectorStack(opts: { api?: ApiServerOptions; worker?: Record<string, string>; workers?: number } = {}): Promise<VectorStack> {
  return startRunStack({
    api: { embeddingModel: EMBEDDING_MODEL, ...opts.api },
    // A crashed worker's ingestion comes back within ~1.5× WORKER_LOCK_MS (2 s in the runs stack).
    worker: { EMBEDDING_MODEL, RECONCILE_EVERY_MS: '1000', RECONCILE_STALE_MS: '2000', ...opts.worker },
    workers: opts.workers,
  })
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
