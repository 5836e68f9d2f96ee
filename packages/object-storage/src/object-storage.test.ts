import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { beforeAll, describe, expect, it } from 'vitest'
import { createObjectStorage } from './create-object-storage.js'
import { ObjectNotFoundError, type ObjectStorage } from './object-storage.js'
import { type TestS3Server, startTestS3Server } from './testing/s3-server.js'

const text = async (r: Readable) => {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A stream of `n` chunks of 1 MiB, then an error: a client that dies mid-upload. */
const failingStream = (n: number) =>
  Readable.from(
    (async function* () {
      for (let i = 0; i < n; i++) yield Buffer.alloc(1024 * 1024, 97)
      throw new Error('client went away')
    })(),
  )

/** The same contract, run against each backend. */
function contract(name: string, open: () => Promise<{ storage: ObjectStorage; listAll: () => Promise<string[]>; close: () => Promise<void> }>) {
  describe(name, () => {
    let storage: ObjectStorage
    let listAll: () => Promise<string[]>
    // The backend's teardown, returned from beforeAll so it runs after the describe's tests (an
    // afterAll registered inside open(), during a hook, never ran: every run left its directories in /tmp).
    beforeAll(async () => {
      const opened = await open()
      ;({ storage, listAll } = opened)
      return opened.close
    })

    it('puts bytes and streams, reads them back, heads and deletes idempotently', async () => {
      expect(await storage.put('files/p1/a.txt', Buffer.from('hello'))).toEqual({ bytes: 5 })
      expect(await storage.put('files/p1/b.bin', Readable.from([Buffer.from('ab'), Buffer.from('cd')]), { contentType: 'application/octet-stream' })).toEqual({ bytes: 4 })
      expect(await text(await storage.get('files/p1/a.txt'))).toBe('hello')
      expect((await storage.getBytes('files/p1/b.bin')).toString()).toBe('abcd')
      expect(await storage.head('files/p1/b.bin')).toEqual({ bytes: 4 })
      expect(await storage.put('files/p1/a.txt', Buffer.from('replaced'))).toEqual({ bytes: 8 })
      expect((await storage.getBytes('files/p1/a.txt')).toString()).toBe('replaced')
      await storage.delete('files/p1/a.txt')
      await storage.delete('files/p1/a.txt')
      expect(await storage.head('files/p1/a.txt')).toBeNull()
      await expect(storage.get('files/p1/a.txt')).rejects.toBeInstanceOf(ObjectNotFoundError)
      await expect(storage.getBytes('files/p1/missing')).rejects.toBeInstanceOf(ObjectNotFoundError)
    })

    it('streams a multi-part body (20 MiB) and stores nothing when the body fails', async () => {
      const big = Readable.from(
        (async function* () {
          for (let i = 0; i < 20; i++) yield Buffer.alloc(1024 * 1024, i)
        })(),
      )
      expect(await storage.put('files/p1/big', big)).toEqual({ bytes: 20 * 1024 * 1024 })
      expect(await storage.head('files/p1/big')).toEqual({ bytes: 20 * 1024 * 1024 })
      const back = await storage.getBytes('files/p1/big')
      expect(back[0]).toBe(0)
      expect(back[back.length - 1]).toBe(19)

      const before = await listAll()
      await expect(storage.put('files/p1/broken', failingStream(10))).rejects.toThrow()
      expect(await storage.head('files/p1/broken')).toBeNull()
      expect(await listAll()).toEqual(before)
    })

    it('refuses keys that are not safe relative paths', async () => {
      for (const bad of ['../x', '/abs', 'a//b', 'a/./b', 'a b']) {
        await expect(storage.put(bad, Buffer.from('x'))).rejects.toThrow(/Invalid object key/)
      }
    })
  })
}

contract('local directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tw-objects-'))
  const storage = createObjectStorage({ kind: 'local', root })
  const listAll = async () => {
    const out: string[] = []
    for (const dir of ['objects', 'tmp']) {
      const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch(() => [])
      for (const e of entries) if (e.isFile()) out.push(join(e.parentPath, e.name))
    }
    return out.sort()
  }
  return { storage, listAll, close: () => rm(root, { recursive: true, force: true }) }
})

let s3: TestS3Server
contract('S3 (s3rver started by the test)', async () => {
  s3 = await startTestS3Server({ prefix: 'tenant-a' })
  const storage = createObjectStorage(s3.config)
  const { ListObjectsV2Command, S3Client } = await import('@aws-sdk/client-s3')
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  })
  const listAll = async () => {
    const out = await client.send(new ListObjectsV2Command({ Bucket: s3.config.bucket }))
    return (out.Contents ?? []).map((o) => o.Key!).sort()
  }
  return { storage, listAll, close: () => s3.close() }
})

describe('lanceLocation', () => {
  it('local: a directory under the root; S3: s3:// URI under the prefix with object-store options', async () => {
    const local = createObjectStorage({ kind: 'local', root: '/srv/tw' })
    expect(local.lanceLocation('vs_1')).toEqual({ uri: '/srv/tw/lance/vs_1', storageOptions: {} })
    const remote = createObjectStorage({
      kind: 's3',
      bucket: 'b',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      accessKeyId: 'k',
      secretAccessKey: 's',
      forcePathStyle: true,
      prefix: 'tw',
    })
    expect(remote.lanceLocation('vs_1')).toEqual({
      uri: 's3://b/tw/lance/vs_1',
      storageOptions: {
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        allow_http: 'true',
        aws_access_key_id: 'k',
        aws_secret_access_key: 's',
        virtual_hosted_style_request: 'false',
      },
    })
  })
})
