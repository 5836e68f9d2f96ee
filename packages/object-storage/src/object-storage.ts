import type { Readable } from 'node:stream'

/**
 * Where Threadwork keeps bytes: uploaded files, upload parts, code_interpreter outputs and the
 * LanceDB search index. One small interface so a single host uses a local directory and several
 * hosts share one S3-compatible bucket, with nothing else changing.
 *
 * Keys are `/`-separated relative paths of `[A-Za-z0-9._=-]` segments (no `.`/`..`, no leading `/`).
 */
export interface ObjectStorage {
  /**
   * Stores `body` under `key`, replacing any object there. All or nothing: a failed or aborted
   * body (a stream that errors) leaves no object and no partial bytes behind. Streams are never
   * buffered whole. Returns the byte count stored.
   */
  put(key: string, body: Readable | Uint8Array, opts?: { contentType?: string }): Promise<{ bytes: number }>
  /** A stream of the object's bytes. Throws {@link ObjectNotFoundError} when there is none. */
  get(key: string): Promise<Readable>
  /** The whole object in memory (small objects only). Throws {@link ObjectNotFoundError}. */
  getBytes(key: string): Promise<Buffer>
  /** The object's size, or null when there is none. */
  head(key: string): Promise<{ bytes: number } | null>
  /** Removes the object; removing a missing one is not an error (idempotent). */
  delete(key: string): Promise<void>
  /**
   * Where a LanceDB database named `name` lives on this storage: a local path or
   * `s3://bucket/prefix/lance/name`, with the `storageOptions` LanceDB's object store needs
   * (`endpoint`, `region`, keys, `allow_http`, `virtual_hosted_style_request`).
   */
  lanceLocation(name: string): { uri: string; storageOptions: Record<string, string> }
}

/** `get`/`getBytes` of a key that holds no object. */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError'
  constructor(readonly key: string) {
    super(`No object stored under '${key}'.`)
  }
}

/** A key that is not a safe relative path (see {@link ObjectStorage}); a programming error. */
export class InvalidObjectKeyError extends Error {
  override name = 'InvalidObjectKeyError'
}

const SEGMENT = /^[A-Za-z0-9._=-]+$/

/** Throws {@link InvalidObjectKeyError} unless `key` is a relative path of safe segments. */
export function assertValidKey(key: string): void {
  const segments = key.split('/')
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === '.' || s === '..') throw new InvalidObjectKeyError(`Invalid object key '${key}'.`)
  }
}

/** A local directory (the default): `root` is made if missing. */
export interface LocalStorageConfig {
  kind: 'local'
  root: string
}

/** Any S3-compatible store (AWS S3, MinIO, Ceph, R2, …). */
export interface S3StorageConfig {
  kind: 's3'
  bucket: string
  /** Custom endpoint, e.g. `http://127.0.0.1:9000`; unset for AWS. */
  endpoint?: string
  region: string
  /** Unset: the AWS SDK's default credential chain (env, profile, instance role). */
  accessKeyId?: string
  secretAccessKey?: string
  /** Path-style URLs (`endpoint/bucket/key`), which most self-hosted stores need. */
  forcePathStyle: boolean
  /** Key prefix inside the bucket, without leading or trailing `/` ('' for none). */
  prefix: string
}

export type ObjectStorageConfig = LocalStorageConfig | S3StorageConfig
