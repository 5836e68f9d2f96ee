import type { IngestQueues } from '@threadwork/queue'
import { type Stores, createIngestStore } from '@threadwork/storage'
import {
  type FileAccess,
  type OpenStoreIndex,
  type ToolResourcesService,
  type VectorStoreSearch,
  type VectorStoreService,
  createToolResourcesService,
  createVectorStoreSearch,
  createVectorStoreService,
} from '@threadwork/vector-stores'

/** The Vector stores API's services (wired in by main and the test server once files and an index exist). */
export interface VectorStoresApi {
  service: VectorStoreService
  search: VectorStoreSearch
  toolResources: ToolResourcesService
}

export interface VectorStoresApiDeps {
  stores: Stores
  files: FileAccess
  ingestQueue: Pick<IngestQueues, 'enqueueDrain'>
  openIndex: OpenStoreIndex
  /** The parsed text of a File, for the content endpoint. */
  fileText: (project: string, fileId: string, filename: string) => Promise<string>
}

/** Builds the vector store services over the API's stores, the file service and the index. */
export function createVectorStoresApi(deps: VectorStoresApiDeps): VectorStoresApi {
  const service = createVectorStoreService({
    stores: deps.stores.vectorStores,
    ingest: createIngestStore(deps.stores.redis, deps.stores.keys),
    files: deps.files,
    wake: (project, id) => deps.ingestQueue.enqueueDrain(project, id),
  })
  return {
    service,
    search: createVectorStoreSearch({ stores: deps.stores.vectorStores, openIndex: deps.openIndex, fileText: deps.fileText }),
    toolResources: createToolResourcesService({ vectorStores: deps.stores.vectorStores, service, files: deps.files }),
  }
}

/**
 * How long the SDK pollers (`files.poll`, `fileBatches.poll`) sleep between reads while a file or
 * batch is in progress; without the header openai-node sleeps 5 s and openai-python 1 s.
 */
export const INGEST_POLL_AFTER_MS = '100'
