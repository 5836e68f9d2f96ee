import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ApiError } from '@threadwork/domain'
import { createObjectStorage } from '@threadwork/object-storage'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FileService, createFileService } from './file-service.js'
import { type UploadService, createUploadService } from './upload-service.js'

let fx: RedisFixture
let root: string
let clock: number
let files: FileService
let uploads: UploadService

beforeEach(async () => {
  fx = await createRedisFixture()
  root = await mkdtemp(join(tmpdir(), 'tw-files-svc-'))
  clock = 1_800_000_000
  const opts = { store: createStores(fx.redis, fx.prefix).files, storage: createObjectStorage({ kind: 'local', root }), maxFileBytes: 1024, now: () => clock }
  files = createFileService(opts)
  uploads = createUploadService(opts)
})
afterEach(async () => {
  await fx.cleanup()
  await rm(root, { recursive: true, force: true })
})

const stored = async () => (await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).length
const text = async (r: Readable) => {
  let s = ''
  for await (const c of r) s += c
  return s
}
const status = (p: Promise<unknown>) => p.then(() => 200, (err: unknown) => (err instanceof ApiError ? err.status : 500))

describe('file service', () => {
  it('createFromBytes (server-made outputs) and openContent', async () => {
    const file = await files.createFromBytes('p', { filename: 'chart.png', purpose: 'assistants_output', bytes: Buffer.from('PNG…') })
    expect(file).toMatchObject({ object: 'file', purpose: 'assistants_output', filename: 'chart.png', bytes: 6, created_at: clock, expires_at: null })
    const content = await files.openContent('p', file.id)
    expect({ ...content, stream: await text(content.stream) }).toEqual({ stream: 'PNG…', contentType: 'image/png', bytes: 6, filename: 'chart.png' })
    const fromStream = await files.createFromBytes('p', { filename: 'out.csv', purpose: 'assistants_output', stream: Readable.from(['a,b\n', '1,2\n']), contentType: 'text/csv' })
    expect((await files.openContent('p', fromStream.id)).contentType).toBe('text/csv')
    expect(await status(files.get('other', file.id))).toBe(404)
  })

  it('an expired file is gone for readers at expires_at, and the sweeper removes it (listeners first)', async () => {
    const file = await files.createFromStream('p', { filename: 'a.txt', purpose: 'assistants', stream: Readable.from(['hi']), expiresAfter: { anchor: 'created_at', seconds: 3600 } })
    const keep = await files.createFromBytes('p', { filename: 'b.txt', purpose: 'assistants', bytes: Buffer.from('keep') })
    expect(file.expires_at).toBe(clock + 3600)
    const heard: string[] = []
    files.onFileDeleted((project, id) => void heard.push(`${project}/${id}`))

    clock += 3599
    expect(await files.sweepExpired()).toBe(0)
    expect((await files.get('p', file.id)).id).toBe(file.id)

    clock += 1
    expect(await status(files.get('p', file.id))).toBe(404)
    expect(await status(files.openContent('p', file.id))).toBe(404)
    expect((await files.list('p', { limit: 100, order: 'desc' })).data.map((f) => f.id)).toEqual([keep.id])
    expect(await stored()).toBe(2)
    expect(await files.sweepExpired()).toBe(1)
    expect(heard).toEqual([`p/${file.id}`])
    expect(await stored()).toBe(1)
    expect(await files.sweepExpired()).toBe(0)
  })

  it('a deletion listener that fails stops the deletion: the file stays whole', async () => {
    const file = await files.createFromBytes('p', { filename: 'a.txt', purpose: 'assistants', bytes: Buffer.from('x') })
    const off = files.onFileDeleted(() => {
      throw new ApiError(503, 'vector store busy')
    })
    expect(await status(files.delete('p', file.id))).toBe(503)
    expect(await text((await files.openContent('p', file.id)).stream)).toBe('x')
    off()
    expect(await files.delete('p', file.id)).toEqual({ id: file.id, object: 'file', deleted: true })
    expect(await stored()).toBe(0)
  })

  it('the size limit cuts a stream off mid-way: 413 and nothing stored', async () => {
    const big = Readable.from((function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(200, 97)
    })())
    expect(await status(files.createFromStream('p', { filename: 'a.txt', purpose: 'assistants', stream: big }))).toBe(413)
    expect(await stored()).toBe(0)
    expect((await files.list('p', { limit: 100, order: 'desc' })).data).toEqual([])
  })
})

describe('upload service', () => {
  it('an upload past its hour takes no parts and no completion; the sweeper removes its parts', async () => {
    const upload = await uploads.create('p', { filename: 'a.txt', purpose: 'assistants', bytes: 2, mime_type: 'text/plain' })
    const part = await uploads.addPart('p', upload.id, Readable.from(['ab']))
    expect(await stored()).toBe(1)
    clock += 3600
    await expect(uploads.addPart('p', upload.id, Readable.from(['c']))).rejects.toMatchObject({ message: "Cannot add a Part to an Upload with status 'expired'." })
    await expect(uploads.complete('p', upload.id, { part_ids: [part.id] })).rejects.toMatchObject({ message: "Cannot complete an Upload with status 'expired'." })
    expect(await files.sweepExpired()).toBe(1)
    expect(await stored()).toBe(0)
  })

  it('a part over the declared size is refused (413) and not kept', async () => {
    const upload = await uploads.create('p', { filename: 'a.txt', purpose: 'assistants', bytes: 3, mime_type: 'text/plain' })
    await expect(uploads.addPart('p', upload.id, Readable.from(['abcd']))).rejects.toMatchObject({ status: 413 })
    expect(await stored()).toBe(0)
  })
})
