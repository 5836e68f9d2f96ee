import { type FileService, type UploadService, createFileService, createUploadService } from '@threadwork/files'
import { type ObjectStorage, createObjectStorage } from '@threadwork/object-storage'
import type { Embedder } from '@threadwork/retrieval'
import { type AttachmentService, createAttachmentService } from './attachments/attachment-service.js'
import { createModelGate } from './model-gate.js'
import { type RunServiceDeps, createRunService } from './runs/run-service.js'
import { createTurnService } from './turns/turn-service.js'
import { wireVectorStores } from './vector-stores/wiring.js'

export interface ServicesDeps extends RunServiceDeps {
  /** Where file bytes live (local directory or S3; packages/object-storage). Default: `./.data/storage`. */
  objectStorage?: ObjectStorage
  /** MAX_FILE_BYTES; default 512 MB (OpenAI's limit). */
  maxFileBytes?: number
  log?: { warn(obj: object, msg: string): void }
  /** Embeds vector store search queries (EMBEDDING_MODEL); null/absent: keyword-only search. */
  embedder?: Embedder | null
}

/**
 * The API's services over stores, queues and object storage (shared by main and the test server).
 *
 * `files.onFileDeleted(listener)` is the hook for whatever must forget a file before it is
 * deleted (vector stores register theirs in `wireVectorStores`). `closeQueues()` closes the queues
 * the services opened (the ingest queue).
 */
export function createServices(deps: ServicesDeps) {
  const fileOpts = {
    store: deps.stores.files,
    storage: deps.objectStorage ?? createObjectStorage({ kind: 'local', root: './.data/storage' }),
    maxFileBytes: deps.maxFileBytes ?? 512 * 1024 * 1024,
    log: deps.log,
  }
  const files: FileService = createFileService(fileOpts)
  const uploads: UploadService = createUploadService(fileOpts)
  const vectorStores = wireVectorStores({ stores: deps.stores, files, storage: fileOpts.storage, embedder: deps.embedder ?? null })
  const attachments: AttachmentService = createAttachmentService({ stores: deps.stores, files })
  const runs = createRunService({ ...deps, vectorStores: vectorStores.api, attachments })
  const modelGate = createModelGate(deps.modelStatus)
  const turns = createTurnService({ stores: deps.stores, queues: deps.queues, runs, modelGate, attachments, vectorStores: vectorStores.api })
  return { runs, turns, modelGate, files, uploads, attachments, vectorStores: vectorStores.api, closeQueues: vectorStores.close }
}
