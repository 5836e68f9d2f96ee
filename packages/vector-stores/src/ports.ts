import type { AttributeFilter } from '@threadwork/domain'

/** What the vector store service needs of a File (the files package's `FileService.get`). */
export interface FileAccess {
  /** The file object; throws OpenAI's 404 when missing or another project's. */
  get(project: string, fileId: string): Promise<{ id: string; filename: string; purpose: string; bytes: number }>
}

/** One search hit as the index reports it (packages/retrieval `SearchResult`). */
export interface IndexHit {
  file_id: string
  filename: string
  score: number
  attributes: Record<string, string | number | boolean>
  content: { type: 'text'; text: string }[]
}

/** The read side of one store's index (packages/retrieval `VectorIndex`). */
export interface StoreIndexReader {
  search(params: {
    queries: readonly string[]
    maxNumResults?: number
    ranker?: 'auto' | 'none' | 'default-2024-11-15' | 'default_2024_08_21'
    scoreThreshold?: number
    filters?: AttributeFilter | null
    fileIds?: readonly string[] | null
    signal?: AbortSignal
  }): Promise<IndexHit[]>
  fileChunks(fileId: string): Promise<{ index: number; text: string }[]>
}

/** Opens a store's index for reading (cheap; cached by the index package). */
export type OpenStoreIndex = (vectorStoreId: string) => Promise<StoreIndexReader>

/** Wakes the ingest drain of a store (packages/queue `IngestQueues.enqueueDrain`). */
export type WakeIngest = (project: string, vectorStoreId: string) => Promise<void>

/** Name of the LanceDB database under the storage root (`ObjectStorage.lanceLocation`) holding one table per vector store; API and worker share it. */
export const VECTOR_INDEX_NAME = 'vector_stores'
