import { type FileService, type UploadService, createFileService, createUploadService } from '@threadwork/files'
import { type ObjectStorage, createObjectStorage } from '@threadwork/object-storage'
import { createModelGate } from './model-gate.js'
import { type RunServiceDeps, createRunService } from './runs/run-service.js'
import { createTurnService } from './turns/turn-service.js'

export interface ServicesDeps extends RunServiceDeps {
  /** Where file bytes live (local directory or S3; packages/object-storage). Default: `./.data/storage`. */
  objectStorage?: ObjectStorage
  /** MAX_FILE_BYTES; default 512 MB (OpenAI's limit). */
  maxFileBytes?: number
  log?: { warn(obj: object, msg: string): void }
}

/**
 * The API's services over stores, queues and object storage (shared by main and the test server).
 *
 * `files.onFileDeleted(listener)` is the hook for whatever must forget a file before it is
 * deleted (vector stores: register it here, once, beside the vector store service).
 */
export function createServices(deps: ServicesDeps) {
  const runs = createRunService(deps)
  const modelGate = createModelGate(deps.modelStatus)
  const turns = createTurnService({ stores: deps.stores, queues: deps.queues, runs, modelGate })
  const fileOpts = {
    store: deps.stores.files,
    storage: deps.objectStorage ?? createObjectStorage({ kind: 'local', root: './.data/storage' }),
    maxFileBytes: deps.maxFileBytes ?? 512 * 1024 * 1024,
    log: deps.log,
  }
  const files: FileService = createFileService(fileOpts)
  const uploads: UploadService = createUploadService(fileOpts)
  return { runs, turns, modelGate, files, uploads }
}
