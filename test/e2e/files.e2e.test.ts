/**
 * The Files API through the official node SDK: upload (stream, toFile), list, retrieve, content,
 * delete; per-project isolation; and every bad upload answered 4xx with OpenAI's body and nothing
 * stored (no metadata, no bytes in object storage).
 */
import { createReadStream } from 'node:fs'
import { request } from 'node:http'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiServer } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, recentSeconds, sdk, startStack } from './support.js'

let server: ApiServer
let alpha: OpenAI
let beta: OpenAI
let dir: string

const MAX_FILE_BYTES = 64 * 1024

beforeAll(async () => {
  const started = await startStack({ apiKeys: new Map([['sk-alpha', 'alpha'], ['sk-beta', 'beta']]), maxFileBytes: MAX_FILE_BYTES })
  server = started.server
  alpha = started.client
  beta = sdk(server, 'sk-beta')
  dir = await mkdtemp(join(tmpdir(), 'tw-files-e2e-'))
})
afterAll(async () => {
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

const fileIdOf = () => expect.stringMatching(/^file-[0-9A-Za-z]{22}$/)

/** Every object in the server's storage directory (stored bytes and in-flight temporaries). */
async function storedObjects(): Promise<string[]> {
  const entries = await readdir(server.storageDir!, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

async function rawUpload(body: string | FormData, headers: Record<string, string>, path = '/files') {
  const res = await fetch(`${server.baseURL}${path}`, { method: 'POST', body, headers: { authorization: 'Bearer sk-alpha', ...headers } })
  return { status: res.status, body: (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } }
}

describe('files', () => {
  it('uploads from a read stream and from toFile, then lists, retrieves, downloads and deletes', async () => {
    const path = join(dir, 'manual.md')
    await writeFile(path, '# Manual\n\nPress the red button.\n')
    const fromStream = await alpha.files.create({ file: createReadStream(path), purpose: 'assistants' })
    expect(fromStream).toEqual({
      id: fileIdOf(),
      object: 'file',
      bytes: 32,
      created_at: recentSeconds(),
      expires_at: null,
      filename: 'manual.md',
      purpose: 'assistants',
      status: 'processed',
      status_details: null,
    })
    const fromBuffer = await alpha.files.create({
      file: await toFile(Buffer.from('{"a":1}\n'), 'rows.jsonl'),
      purpose: 'batch',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    })
    expect(fromBuffer).toMatchObject({ filename: 'rows.jsonl', purpose: 'batch', bytes: 8 })
    expect(fromBuffer.expires_at).toBe(fromBuffer.created_at + 3600)

    expect(await alpha.files.retrieve(fromStream.id)).toEqual(fromStream)
    const all = await alpha.files.list()
    expect(all.data.map((f) => f.id)).toEqual([fromBuffer.id, fromStream.id])
    expect(all.has_more).toBe(false)
    const asc = await alpha.files.list({ order: 'asc', limit: 1 })
    expect(asc.data.map((f) => f.id)).toEqual([fromStream.id])
    expect(asc.has_more).toBe(true)
    const next = await alpha.files.list({ order: 'asc', limit: 1, after: fromStream.id })
    expect(next.data.map((f) => f.id)).toEqual([fromBuffer.id])
    expect((await alpha.files.list({ purpose: 'batch' })).data.map((f) => f.id)).toEqual([fromBuffer.id])
    // The SDK's auto-pagination walks the whole list.
    const walked: string[] = []
    for await (const f of alpha.files.list({ limit: 1 })) walked.push(f.id)
    expect(walked).toEqual([fromBuffer.id, fromStream.id])

    const content = await alpha.files.content(fromStream.id)
    expect(content.headers.get('content-type')).toBe('text/markdown')
    expect(await content.text()).toBe('# Manual\n\nPress the red button.\n')

    expect(await alpha.files.delete(fromStream.id)).toEqual({ id: fromStream.id, object: 'file', deleted: true })
    const gone = await apiError(() => alpha.files.retrieve(fromStream.id))
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
    expect(gone.error).toEqual({ message: `No such File object: ${fromStream.id}`, type: 'invalid_request_error', param: 'id', code: null })
    await expect(alpha.files.content(fromStream.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(alpha.files.delete(fromStream.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await alpha.files.list()).data.map((f) => f.id)).toEqual([fromBuffer.id])
    await alpha.files.delete(fromBuffer.id)
    expect(await storedObjects()).toEqual([])
  })

  it('keeps a non-ASCII filename as sent (UTF-8 in the multipart header, as both SDKs send it)', async () => {
    // The seed tutorial's users name their documents in Chinese; the name is what citations show.
    const path = join(dir, '大模型技术手册.md')
    await writeFile(path, 'LoRA 微调')
    const fromStream = await alpha.files.create({ file: createReadStream(path), purpose: 'assistants' })
    expect(fromStream.filename).toBe('大模型技术手册.md')
    const fromBuffer = await alpha.files.create({ file: await toFile(Buffer.from('x'), 'Café résumé.txt'), purpose: 'assistants' })
    expect(fromBuffer.filename).toBe('Café résumé.txt')
    expect((await alpha.files.retrieve(fromStream.id)).filename).toBe('大模型技术手册.md')
    const content = await alpha.files.content(fromStream.id)
    expect(content.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('大模型技术手册.md')}`)
    await alpha.files.delete(fromStream.id)
    await alpha.files.delete(fromBuffer.id)
  })

  it("another project's file is 404 everywhere, exactly like one that never existed", async () => {
    const mine = await alpha.files.create({ file: await toFile(Buffer.from('secret'), 'secret.txt'), purpose: 'assistants' })
    const never = 'file-0000000000000000000000'
    for (const call of [(id: string) => beta.files.retrieve(id), (id: string) => beta.files.content(id), (id: string) => beta.files.delete(id)]) {
      const theirs = await apiError(() => call(mine.id))
      const missing = await apiError(() => call(never))
      expect(theirs).toBeInstanceOf(OpenAI.NotFoundError)
      expect(JSON.stringify(theirs.error).replace(mine.id, 'X')).toBe(JSON.stringify(missing.error).replace(never, 'X'))
    }
    expect((await beta.files.list()).data).toEqual([])
    expect(await alpha.files.retrieve(mine.id)).toEqual(mine)
    await alpha.files.delete(mine.id)
  })
})

describe('bad uploads: 4xx with OpenAI’s body, nothing stored', () => {
  const cases: [string, () => Promise<unknown>, number, Partial<{ message: string | RegExp; param: string | null; code: string | null }>][] = [
    [
      'unsupported type for assistants',
      async () => alpha.files.create({ file: await toFile(Buffer.from('MZ'), 'tool.exe'), purpose: 'assistants' }),
      400,
      { message: /^Invalid extension exe\. Supported formats: "c", "cpp"/, param: 'file' },
    ],
    ['empty file', async () => alpha.files.create({ file: await toFile(Buffer.alloc(0), 'empty.txt'), purpose: 'assistants' }), 400, { param: 'file' }],
    [
      'too large (limit 64 KiB)',
      async () => alpha.files.create({ file: await toFile(Buffer.alloc(MAX_FILE_BYTES + 1, 97), 'big.txt'), purpose: 'assistants' }),
      413,
      { message: `File is too large: the limit is ${MAX_FILE_BYTES} bytes.`, code: 'file_too_large' },
    ],
    [
      'wrong purpose',
      async () => alpha.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), purpose: 'assistants_output' as 'assistants' }),
      400,
      { message: /^Invalid value: 'assistants_output'\. Supported values are: 'assistants', 'batch'/, param: 'purpose', code: 'invalid_value' },
    ],
    ['missing purpose', async () => alpha.files.create({ file: await toFile(Buffer.from('x'), 'a.txt') } as never), 400, { param: 'purpose', code: 'missing_required_parameter' }],
    [
      'expires_after below an hour',
      async () => alpha.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), purpose: 'assistants', expires_after: { anchor: 'created_at', seconds: 60 } }),
      400,
      { param: 'expires_after.seconds', code: 'integer_below_min_value' },
    ],
    ['fine-tune wants .jsonl', async () => alpha.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), purpose: 'fine-tune' }), 400, { param: 'file' }],
  ]
  for (const [name, call, status, body] of cases) {
    it(name, async () => {
      const err = await apiError(call)
      expect(err.status).toBe(status)
      expect(err.error).toMatchObject({ type: 'invalid_request_error', ...body, message: expect.stringMatching(body.message ?? /./) })
      expect((await alpha.files.list()).data).toEqual([])
      expect(await storedObjects()).toEqual([])
    })
  }

  it('missing file, malformed multipart, a JSON body: each a 4xx and nothing stored', async () => {
    const form = new FormData()
    form.append('purpose', 'assistants')
    const noFile = await fetch(`${server.baseURL}/files`, { method: 'POST', body: form, headers: { authorization: 'Bearer sk-alpha' } })
    expect(noFile.status).toBe(400)
    expect(await noFile.json()).toEqual({
      error: { message: "Missing required parameter: 'file'.", type: 'invalid_request_error', param: 'file', code: 'missing_required_parameter' },
    })

    // A body cut off inside the file part: no closing boundary.
    const cut = await rawUpload(
      '--XYZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello wor',
      { 'content-type': 'multipart/form-data; boundary=XYZ' },
    )
    expect(cut.status).toBe(400)
    expect(cut.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_multipart' })

    const noBoundary = await rawUpload('whatever', { 'content-type': 'multipart/form-data' })
    expect(noBoundary.status).toBe(400)
    expect(noBoundary.body.error.code).toBe('invalid_multipart')

    const json = await rawUpload(JSON.stringify({ purpose: 'assistants' }), { 'content-type': 'application/json' })
    expect(json.status).toBe(415)
    expect(json.body.error.type).toBe('invalid_request_error')

    const twoFiles = new FormData()
    twoFiles.append('purpose', 'assistants')
    twoFiles.append('file', new Blob(['a']), 'a.txt')
    twoFiles.append('file', new Blob(['b']), 'b.txt')
    const two = await rawUpload(twoFiles, {})
    expect(two.status).toBe(400)

    expect((await alpha.files.list()).data).toEqual([])
    expect(await storedObjects()).toEqual([])
  })

  it('a client that goes away mid-upload leaves nothing behind', async () => {
    const req = request(`${server.baseURL}/files`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-alpha', 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
    })
    req.on('error', () => {})
    req.write('--XYZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n')
    req.write('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n')
    req.write(Buffer.alloc(32 * 1024, 97))
    // Once the server has begun storing the file part, the connection drops.
    await expect.poll(storedObjects, { timeout: 30_000 }).not.toEqual([])
    req.destroy()
    await expect.poll(storedObjects, { timeout: 30_000 }).toEqual([])
    expect((await alpha.files.list()).data).toEqual([])
  })
})
