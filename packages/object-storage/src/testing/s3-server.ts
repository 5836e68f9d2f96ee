import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @ts-expect-error s3rver ships no types; its constructor and run()/close() are all we use.
import S3rver from 's3rver'
import type { S3StorageConfig } from '../object-storage.js'

export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  /** A ready S3 config for a bucket that exists on the server (path-style, fixed test keys). */
  config: S3StorageConfig
  close(): Promise<void>
}

/**
 * Starts an S3-protocol server (npm `s3rver`: PUT/GET/HEAD/DELETE, ListObjectsV2, multipart
 * uploads; no conditional PUTs) on a free port of 127.0.0.1, backed by a temporary directory, with
 * one bucket. Tests use it to run the S3 path for real; `close()` stops it and removes the data.
 */
export async function startTestS3Server(opts: { bucket?: string; prefix?: string } = {}): Promise<TestS3Server> {
  const bucket = opts.bucket ?? 'threadwork-test'
  const directory = await mkdtemp(join(tmpdir(), 'tw-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const address = (await server.run()) as AddressInfo
  const endpoint = `http://127.0.0.1:${address.port}`
  return {
    endpoint,
    config: {
      kind: 's3',
      bucket,
      endpoint,
      region: 'us-east-1',
      // s3rver's fixed development credentials.
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      prefix: opts.prefix ?? '',
    },
    async close() {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
