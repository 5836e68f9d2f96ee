/**
 * The Uploads API through the official node SDK: create → parts (added in parallel, in any order)
 * → complete with the order given by `part_ids` (and an MD5), cancel, and the refusals; plus a
 * large streamed upload whose bytes never sit whole in the API's memory, and the S3 backend
 * against an S3-protocol server the test starts.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createObjectStorage } from '@threadwork/object-storage'
import { type TestS3Server, startTestS3Server } from '@threadwork/object-storage/testing'
import { type ApiServer, startApiServer } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, idOf, recentSeconds, sdk } from './support.js'

let server: ApiServer
let client: OpenAI
let dir: string

beforeAll(async () => {
  server = await startApiServer({ apiKeys: new Map([['sk-alpha', 'alpha'], ['sk-beta', 'beta']]) })
  client = sdk(server)
  dir = await mkdtemp(join(tmpdir(), 'tw-uploads-e2e-'))
})
afterAll(async () => {
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

async function storedObjects(): Promise<string[]> {
  const entries = await readdir(server.storageDir!, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

describe('uploads', () => {
  it('parts added in parallel are joined in part_ids order into one file; the parts are then gone', async () => {
    const chunks = ['alpha,', 'beta,', 'gamma,', 'delta\n'].map((s) => Buffer.from(s))
    const whole = Buffer.concat(chunks)
    const upload = await client.uploads.create({ filename: 'letters.csv', purpose: 'assistants', bytes: whole.length, mime_type: 'text/csv' })
    expect(upload).toEqual({
      id: idOf('upload'),
      object: 'upload',
      bytes: whole.length,
      created_at: recentSeconds(),
      expires_at: upload.created_at + 3600,
      filename: 'letters.csv',
      purpose: 'assistants',
      status: 'pending',
      file: null,
    })
    // Sent in reverse, concurrently: the order comes from part_ids alone.
    const parts = await Promise.all(
      [...chunks.keys()].reverse().map(async (i) => ({ i, part: await client.uploads.parts.create(upload.id, { data: await toFile(chunks[i]!, `p${i}`) }) })),
    )
    for (const { part } of parts) expect(part).toEqual({ id: idOf('part'), object: 'upload.part', created_at: recentSeconds(), upload_id: upload.id })
    const inOrder = parts.sort((a, b) => a.i - b.i).map((p) => p.part.id)

    const done = await client.uploads.complete(upload.id, { part_ids: inOrder, md5: md5(whole) })
    expect(done).toMatchObject({ id: upload.id, status: 'completed', bytes: whole.length })
    expect(done.file).toEqual({
      id: expect.stringMatching(/^file-[0-9A-Za-z]{22}$/),
      object: 'file',
      bytes: whole.length,
      created_at: recentSeconds(),
      expires_at: null,
      filename: 'letters.csv',
      purpose: 'assistants',
      status: 'processed',
      status_details: null,
    })
    expect(await client.files.retrieve(done.file!.id)).toEqual(done.file)
    const content = await client.files.content(done.file!.id)
    expect(content.headers.get('content-type')).toBe('text/csv')
    expect(Buffer.from(await content.arrayBuffer()).toString()).toBe('alpha,beta,gamma,delta\n')
    // Only the file's bytes remain: the parts were removed.
    expect(await storedObjects()).toHaveLength(1)

    // A completed upload takes no more parts and cannot be completed or cancelled again.
    expect((await apiError(async () => client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('x'), 'x') }))).error).toMatchObject({ message: "Cannot add a Part to an Upload with status 'completed'." })
    expect((await apiError(() => client.uploads.complete(upload.id, { part_ids: inOrder }))).status).toBe(400)
    expect((await apiError(() => client.uploads.cancel(upload.id))).status).toBe(400)
    await client.files.delete(done.file!.id)
    expect(await storedObjects()).toEqual([])
  })

  it('refuses a wrong part list, a size mismatch and a bad md5 (the upload stays pending, nothing is stored)', async () => {
    const upload = await client.uploads.create({ filename: 'a.txt', purpose: 'assistants', bytes: 6, mime_type: 'text/plain' })
    const a = await client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('abc'), 'a') })
    const b = await client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('def'), 'b') })

    const unknown = await apiError(() => client.uploads.complete(upload.id, { part_ids: [a.id, 'part_nope'] }))
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError)
    expect(unknown.error).toMatchObject({ param: 'part_ids', message: `Invalid 'part_ids': no Part with id 'part_nope' in Upload ${upload.id}.` })
    const twice = await apiError(() => client.uploads.complete(upload.id, { part_ids: [a.id, a.id] }))
    expect(twice.error).toMatchObject({ param: 'part_ids' })
    const short = await apiError(() => client.uploads.complete(upload.id, { part_ids: [a.id] }))
    expect(short.error).toMatchObject({
      param: 'part_ids',
      message: 'The number of bytes uploaded (3) does not match the number of bytes specified when creating the Upload (6).',
    })
    const badSum = await apiError(() => client.uploads.complete(upload.id, { part_ids: [a.id, b.id], md5: md5(Buffer.from('abcdeX')) }))
    expect(badSum.error).toMatchObject({ param: 'md5', type: 'invalid_request_error' })
    expect((await client.files.list()).data).toEqual([])

    // Still pending: the right list completes it, in the order given (b before a).
    const done = await client.uploads.complete(upload.id, { part_ids: [b.id, a.id], md5: md5(Buffer.from('defabc')) })
    expect(Buffer.from(await (await client.files.content(done.file!.id)).arrayBuffer()).toString()).toBe('defabc')
    await client.files.delete(done.file!.id)
  })

  it('cancel: the upload ends cancelled, its parts are removed, and it takes nothing more', async () => {
    const upload = await client.uploads.create({ filename: 'c.txt', purpose: 'assistants', bytes: 3, mime_type: 'text/plain' })
    const part = await client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('abc'), 'c') })
    expect(await storedObjects()).toHaveLength(1)
    expect(await client.uploads.cancel(upload.id)).toMatchObject({ id: upload.id, status: 'cancelled', file: null })
    expect(await storedObjects()).toEqual([])
    expect((await apiError(() => client.uploads.complete(upload.id, { part_ids: [part.id] }))).error).toMatchObject({ message: "Cannot complete an Upload with status 'cancelled'." })
    expect((await apiError(async () => client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('x'), 'x') }))).error).toMatchObject({
      message: "Cannot add a Part to an Upload with status 'cancelled'.",
    })
  })

  it('refuses bad creates and other projects’ uploads', async () => {
    const tooBig = await apiError(() => client.uploads.create({ filename: 'a.txt', purpose: 'assistants', bytes: 513 * 1024 * 1024, mime_type: 'text/plain' }))
    expect(tooBig.error).toMatchObject({ param: 'bytes', code: 'file_too_large' })
    const badType = await apiError(() => client.uploads.create({ filename: 'a.exe', purpose: 'assistants', bytes: 10, mime_type: 'application/octet-stream' }))
    expect(badType.error).toMatchObject({ param: 'filename', message: expect.stringMatching(/^Invalid extension exe\./) })
    const badPurpose = await apiError(() => client.uploads.create({ filename: 'a.txt', purpose: 'nope' as 'assistants', bytes: 10, mime_type: 'text/plain' }))
    expect(badPurpose.error).toMatchObject({ param: 'purpose', code: 'invalid_value' })

    const mine = await client.uploads.create({ filename: 'm.txt', purpose: 'assistants', bytes: 1, mime_type: 'text/plain' })
    const beta = sdk(server, 'sk-beta')
    for (const call of [
      async () => beta.uploads.parts.create(mine.id, { data: await toFile(Buffer.from('x'), 'x') }),
      () => beta.uploads.complete(mine.id, { part_ids: [] }),
      () => beta.uploads.cancel(mine.id),
    ]) {
      const err = await apiError(call)
      expect(err).toBeInstanceOf(OpenAI.NotFoundError)
      expect(err.error).toEqual({ message: `No such Upload object: ${mine.id}`, type: 'invalid_request_error', param: 'upload_id', code: null })
    }
    await client.uploads.cancel(mine.id)
  })
})

describe('large bodies stream to storage', () => {
  /**
   * The SDK's `files.create` reads a stream whole into a File before sending (openai-node's
   * `toFile`), which would blur what the server holds; so this body is a multipart form generated
   * on the fly and sent with a streaming fetch, and the download is read chunk by chunk: neither
   * side of this process ever holds the file.
   */
  const boundary = 'twboundary7MA4YWxkTrZu0gW'
  const chunk = Buffer.alloc(256 * 1024, 'x')
  const form = (size: number) =>
    Readable.from(
      (async function* () {
        yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n`)
        yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`)
        for (let sent = 0; sent < size; sent += chunk.length) yield chunk
        yield Buffer.from(`\r\n--${boundary}--\r\n`)
      })(),
    )
  async function roundTrip(size: number) {
    const res = await fetch(`${server.baseURL}/files`, {
      method: 'POST',
      body: Readable.toWeb(form(size)) as ReadableStream,
      headers: { authorization: 'Bearer sk-alpha', 'content-type': `multipart/form-data; boundary=${boundary}` },
      duplex: 'half',
    } as RequestInit)
    const file = (await res.json()) as OpenAI.FileObject
    expect(res.status).toBe(200)
    expect(file.bytes).toBe(size)
    const back = await client.files.content(file.id)
    let received = 0
    for await (const part of Readable.fromWeb(back.body as never)) received += (part as Buffer).length
    expect(received).toBe(size)
    await client.files.delete(file.id)
  }

  it('a 50 MiB file streams in and out while the process RSS grows well below its size', async () => {
    // Warm-up: the first streamed request and response grow the heap and socket buffers by a
    // fixed ~30 MiB (measured: the same after 50 and after 200 MiB), which is not per-file memory.
    await roundTrip(16 * 1024 * 1024)
    const size = 50 * 1024 * 1024
    const before = process.memoryUsage().rss
    let peak = before
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 5)
    try {
      await roundTrip(size)
    } finally {
      clearInterval(sampler)
    }
    const delta = peak - before
    console.info(`50 MiB streamed upload + download: peak RSS delta ${(delta / 1024 / 1024).toFixed(1)} MiB`)
    // Loose on purpose (GC timing, a busy machine): a buffered body alone would need ≥ 50 MiB.
    expect(delta).toBeLessThan(size / 2)
  })
})

describe('S3 backend', () => {
  let s3: TestS3Server
  let s3Server: ApiServer
  beforeAll(async () => {
    s3 = await startTestS3Server({ prefix: 'tw' })
    s3Server = await startApiServer({ objectStorage: createObjectStorage(s3.config) })
  })
  afterAll(async () => {
    await s3Server?.close()
    await s3?.close()
  })

  it('files and uploads work the same over an S3-protocol server; deletes remove the objects', async () => {
    const c = sdk(s3Server)
    const file = await c.files.create({ file: await toFile(Buffer.from('over s3'), 'note.txt'), purpose: 'assistants' })
    expect(await (await c.files.content(file.id)).text()).toBe('over s3')
    expect(await s3Server.objectStorage.head(`files/test/${file.id}`)).toEqual({ bytes: 7 })

    const upload = await c.uploads.create({ filename: 'u.md', purpose: 'assistants', bytes: 6, mime_type: 'text/markdown' })
    const p1 = await c.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('abc'), 'a') })
    const p2 = await c.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('def'), 'b') })
    const done = await c.uploads.complete(upload.id, { part_ids: [p2.id, p1.id] })
    const content = await c.files.content(done.file!.id)
    expect(content.headers.get('content-type')).toBe('text/markdown')
    expect(await content.text()).toBe('defabc')

    await c.files.delete(file.id)
    await c.files.delete(done.file!.id)
    expect(await s3Server.objectStorage.head(`files/test/${file.id}`)).toBeNull()
    expect(await s3Server.objectStorage.head(`uploads/test/${upload.id}/${p1.id}`)).toBeNull()
  })
})
