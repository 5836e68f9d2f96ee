import { buffer } from 'node:stream/consumers'
import type { FileService } from '@threadwork/files'
import type { ObjectStorage } from '@threadwork/object-storage'
import { createIngestQueue } from '@threadwork/queue'
import { type Embedder, extractText, openVectorIndex } from '@threadwork/retrieval'
import type { Stores } from '@threadwork/storage'
import { VECTOR_INDEX_NAME } from '@threadwork/vector-stores'
import { type VectorStoresApi, createVectorStoresApi } from './deps.js'

/**
 * The API side of vector stores over real parts: the Files service (lookups, bytes), the LanceDB
 * index on the storage root (reads only: searches, chunk listings), the ingest queue (wakes the
 * worker's per-store drain), and the file-deletion hook (a deleted File leaves every store).
 * `embedder` embeds search queries (hybrid search); null: keyword-only.
 */
export function wireVectorStores(deps: { stores: Stores; files: FileService; storage: ObjectStorage; embedder: Embedder | null }): {
  api: VectorStoresApi
  close(): Promise<void>
} {
  const ingestQueue = createIngestQueue(deps.stores.redis, deps.stores.keys)
  const location = deps.storage.lanceLocation(VECTOR_INDEX_NAME)
  const api = createVectorStoresApi({
    stores: deps.stores,
    files: deps.files,
    ingestQueue,
    openIndex: (id) => openVectorIndex(location, id, { embedder: deps.embedder }),
    fileText: async (project, fileId, filename) => {
      const content = await deps.files.openContent(project, fileId)
      const bytes = new Uint8Array(await buffer(content.stream))
      return (await extractText({ bytes, filename, contentType: content.contentType })).text
    },
  })
  deps.files.onFileDeleted((project, fileId) => api.service.removeFileEverywhere(project, fileId))
  return { api, close: () => ingestQueue.close() }
}
