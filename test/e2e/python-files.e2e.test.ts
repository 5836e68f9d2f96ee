/**
 * Files through openai-python: `files.create(file=open(...))`, retrieve, content, list, delete, and
 * the SDK's chunked upload helper (`uploads.upload_file_chunked`: parts in order + md5).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiServer, startApiServer } from '@threadwork/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensurePythonSdk, pythonScenario } from './python-sdk.js'

const python = ensurePythonSdk()
if (!python.ok) console.warn(`skipping the openai-python files tests: ${python.reason}`)

describe.skipIf(!python.ok)('openai-python: files and uploads', () => {
  let server: ApiServer
  let dir: string
  beforeAll(async () => {
    server = await startApiServer()
    dir = await mkdtemp(join(tmpdir(), 'tw-pyfiles-'))
  })
  afterAll(async () => {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })
  const scenario = <T>(name: string) =>
    pythonScenario<T>(name, { baseURL: server.baseURL, apiKey: server.apiKey, assistantId: '' }, { script: 'files_scenarios.py', env: { TW_DIR: dir } })

  it('files.create(file=open(...)) → retrieve, content, list, delete', async () => {
    const out = await scenario<Record<string, unknown>>('upload')
    const created = out.created as { id: string }
    expect(out).toEqual({
      created: {
        id: expect.stringMatching(/^file-[0-9A-Za-z]{22}$/),
        object: 'file',
        bytes: 35,
        created_at: expect.any(Number),
        expires_at: null,
        filename: 'guide.md',
        purpose: 'assistants',
        status: 'processed',
        status_details: null,
      },
      same: true,
      content: '# Guide\n\nTurn it off and on again.\n',
      content_type: 'text/markdown',
      listed: [created.id],
      deleted: { id: created.id, object: 'file', deleted: true },
      after_delete: 404,
    })
  })

  it('uploads.upload_file_chunked: five parts joined in order, md5 checked', async () => {
    expect(await scenario('chunked')).toEqual({ status: 'completed', file_bytes: 300_000, filename: 'big.txt', same_bytes: true })
  })
})
