import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { Readable, Transform } from 'node:stream'
import { type ObjectStorage, ObjectNotFoundError, type S3StorageConfig, assertValidKey } from './object-storage.js'

const isNotFound = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404

/**
 * Objects in one bucket under `prefix/objects/<key>`. Puts stream through `@aws-sdk/lib-storage`'s
 * `Upload`: 8 MiB parts, at most 4 in flight, so memory per upload stays ~32 MiB whatever the
 * size; a body that fails aborts the multipart upload, so no object appears (S3 only shows an
 * object once CompleteMultipartUpload succeeds). LanceDB databases live in `prefix/lance/<name>`.
 */
export function createS3Storage(config: S3StorageConfig): ObjectStorage {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials:
      config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
    // Self-hosted stores (MinIO, s3rver, Ceph) may not speak the newer default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  const base = config.prefix ? `${config.prefix}/` : ''
  const keyOf = (key: string) => {
    assertValidKey(key)
    return `${base}objects/${key}`
  }

  return {
    async put(key, body, opts) {
      const Key = keyOf(key)
      let bytes = 0
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length
          cb(null, chunk)
        },
      })
      const source = body instanceof Uint8Array ? Readable.from([body]) : body
      // A source error must reach the Upload (which then aborts); pipe() alone would not forward it.
      source.on('error', (err) => counter.destroy(err))
      // The Upload reads `counter` from its own (async) start; its error reaches the Upload through
      // the stream's errored state, this listener only keeps it from being "unhandled" meanwhile.
      counter.on('error', () => {})
      source.pipe(counter)
      const upload = new Upload({
        client,
        params: { Bucket: config.bucket, Key, Body: counter, ContentType: opts?.contentType },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      })
      await upload.done()
      return { bytes }
    },

    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: keyOf(key) }))
        return out.Body as Readable
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key)
        throw err
      }
    },

    async getBytes(key) {
      const chunks: Buffer[] = []
      for await (const chunk of await this.get(key)) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    },

    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: keyOf(key) }))
        return { bytes: out.ContentLength ?? 0 }
      } catch (err) {
        if (isNotFound(err)) return null
        throw err
      }
    },

    async delete(key) {
      // S3's DeleteObject succeeds on a missing key: idempotent as the interface asks.
      await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: keyOf(key) }))
    },

    lanceLocation(name) {
      assertValidKey(name)
      // Option names of LanceDB's object store (Rust `object_store` AmazonS3ConfigKey aliases).
      const storageOptions: Record<string, string> = { region: config.region }
      if (config.endpoint) {
        storageOptions.endpoint = config.endpoint
        if (config.endpoint.startsWith('http://')) storageOptions.allow_http = 'true'
      }
      if (config.accessKeyId) storageOptions.aws_access_key_id = config.accessKeyId
      if (config.secretAccessKey) storageOptions.aws_secret_access_key = config.secretAccessKey
      storageOptions.virtual_hosted_style_request = config.forcePathStyle ? 'false' : 'true'
      return { uri: `s3://${config.bucket}/${base}lance/${name}`, storageOptions }
    },
  }
}
