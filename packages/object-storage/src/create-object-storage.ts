import { createLocalStorage } from './local-storage.js'
import type { ObjectStorage, ObjectStorageConfig } from './object-storage.js'
import { createS3Storage } from './s3-storage.js'

/** The storage the configuration names: a local directory, or an S3-compatible bucket. */
export function createObjectStorage(config: ObjectStorageConfig): ObjectStorage {
  return config.kind === 's3' ? createS3Storage(config) : createLocalStorage(config)
}

/** The storage settings of `@threadwork/config`'s `StorageEnv` (README, Configuration). */
export interface StorageSettings {
  STORAGE_DIR: string
  S3_BUCKET?: string
  S3_ENDPOINT?: string
  S3_REGION: string
  S3_ACCESS_KEY_ID?: string
  S3_SECRET_ACCESS_KEY?: string
  S3_FORCE_PATH_STYLE: boolean
  S3_PREFIX: string
}

/** `S3_BUCKET` set → S3; otherwise the local directory `STORAGE_DIR`. */
export function storageConfigFromEnv(env: StorageSettings): ObjectStorageConfig {
  if (!env.S3_BUCKET) return { kind: 'local', root: env.STORAGE_DIR }
  return {
    kind: 's3',
    bucket: env.S3_BUCKET,
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    prefix: env.S3_PREFIX.replace(/^\/+|\/+$/g, ''),
  }
}
