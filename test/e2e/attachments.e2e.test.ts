/**
 * Message attachments, the files side (issue 10 item 7): a `code_interpreter` attachment puts its
 * file in the thread's `tool_resources.code_interpreter.file_ids` (at most 20, OpenAI's limit);
 * every attachment must name one of the project's files (the file_search side is the vector
 * stores' tests). Through the official node SDK; turns through raw HTTP.
 */
import { type ApiServer, type FakeUpstream, startApiServer, startFakeUpstream } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, sdk } from './support.js'

let upstream: FakeUpstream
let server: ApiServer
let alpha: OpenAI
let beta: OpenAI
let assistant: OpenAI.Beta.Assistant

beforeAll(async () => {
  upstream = await startFakeUpstream()
  server = await startApiServer({ apiKeys: new Map([['sk-alpha', 'alpha'], ['sk-beta', 'beta']]), upstreamBaseURL: upstream.baseURL })
  alpha = sdk(server, 'sk-alpha')
  beta = sdk(server, 'sk-beta')
  assistant = await alpha.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] })
})
afterAll(async () => {
  await server?.close()
  await upstream?.close()
})

const upload = async (client: OpenAI, name = 'data.csv') => client.files.create({ file: await toFile(Buffer.from('a,b\n1,2\n'), name), purpose: 'assistants' })

describe('attachments', () => {
  it('code_interpreter attachments join the thread’s code_interpreter files, once each', async () => {
    const csv = await upload(alpha)
    const doc = await upload(alpha, 'notes.md')
    const thread = await alpha.beta.threads.create()
    const message = await alpha.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: 'Analyse this',
      attachments: [
        { file_id: csv.id, tools: [{ type: 'code_interpreter' }] },
        { file_id: doc.id, tools: [{ type: 'file_search' }, { type: 'code_interpreter' }] },
      ],
    })
    expect(message.attachments).toEqual([
      { file_id: csv.id, tools: [{ type: 'code_interpreter' }] },
      { file_id: doc.id, tools: [{ type: 'file_search' }, { type: 'code_interpreter' }] },
    ])
    const resources = (await alpha.beta.threads.retrieve(thread.id)).tool_resources
    expect(resources?.code_interpreter).toEqual({ file_ids: [csv.id, doc.id] })
    // The file_search attachment went to the thread's own vector store (the vector stores' side).
    expect(resources?.file_search?.vector_store_ids).toHaveLength(1)

    // Attaching the same file again does not repeat it.
    await alpha.beta.threads.messages.create(thread.id, { role: 'user', content: 'again', attachments: [{ file_id: csv.id, tools: [{ type: 'code_interpreter' }] }] })
    expect((await alpha.beta.threads.retrieve(thread.id)).tool_resources?.code_interpreter?.file_ids).toEqual([csv.id, doc.id])
  })

  it('threads.create and createAndRun with attached messages create the thread with those files', async () => {
    const csv = await upload(alpha)
    const thread = await alpha.beta.threads.create({
      tool_resources: { code_interpreter: { file_ids: [] } },
      messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: csv.id, tools: [{ type: 'code_interpreter' }] }] }],
    })
    expect(thread.tool_resources).toEqual({ code_interpreter: { file_ids: [csv.id] } })

    const run = await alpha.beta.threads.createAndRun({
      assistant_id: assistant.id,
      thread: { messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: csv.id, tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] }] }] },
    })
    expect((await alpha.beta.threads.retrieve(run.thread_id)).tool_resources?.code_interpreter?.file_ids).toEqual([csv.id])
  })

  it('an unknown or another project’s file is a 404 naming the attachment, and nothing is stored', async () => {
    const theirs = await upload(beta)
    const thread = await alpha.beta.threads.create()
    for (const fileId of [theirs.id, 'file-0000000000000000000000']) {
      // The same answer whichever tool the attachment names (file_search's own check once said 400 file_not_found).
      for (const type of ['code_interpreter', 'file_search'] as const) {
        const err = await apiError(() => alpha.beta.threads.messages.create(thread.id, { role: 'user', content: 'x', attachments: [{ file_id: fileId, tools: [{ type }] }] }))
        expect(err).toBeInstanceOf(OpenAI.NotFoundError)
        expect(err.error).toEqual({ message: `No such File object: ${fileId}`, type: 'invalid_request_error', param: 'attachments[0].file_id', code: null })
      }
      const onCreate = await apiError(() =>
        alpha.beta.threads.create({ messages: [{ role: 'user', content: 'x', attachments: [{ file_id: fileId, tools: [{ type: 'file_search' }] }] }] }),
      )
      expect(onCreate.error).toMatchObject({ param: 'messages[0].attachments[0].file_id' })
    }
    expect((await alpha.beta.threads.messages.list(thread.id)).data).toEqual([])
    expect((await alpha.beta.threads.retrieve(thread.id)).tool_resources).toEqual({})
  })

  it('past 20 code_interpreter files: OpenAI’s 400, and neither the message nor the files are added', async () => {
    const files = await Promise.all(Array.from({ length: 21 }, (_, i) => upload(alpha, `f${i}.csv`)))
    const thread = await alpha.beta.threads.create({ tool_resources: { code_interpreter: { file_ids: files.slice(0, 20).map((f) => f.id) } } })
    const err = await apiError(() =>
      alpha.beta.threads.messages.create(thread.id, { role: 'user', content: 'one more', attachments: [{ file_id: files[20]!.id, tools: [{ type: 'code_interpreter' }] }] }),
    )
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'attachments', code: 'array_above_max_length' })
    expect((err.error as { message: string }).message).toMatch(/^Invalid 'tool_resources\.code_interpreter\.file_ids': array too long\. Expected an array with maximum length 20, but got an array with length 21 instead\./)
    expect((await alpha.beta.threads.messages.list(thread.id)).data).toEqual([])
    expect((await alpha.beta.threads.retrieve(thread.id)).tool_resources?.code_interpreter?.file_ids).toHaveLength(20)

    const tooMany = await apiError(() =>
      alpha.beta.threads.create({
        messages: files.map((f) => ({ role: 'user' as const, content: 'x', attachments: [{ file_id: f.id, tools: [{ type: 'code_interpreter' as const }] }] })),
      }),
    )
    expect(tooMany.status).toBe(400)
  })

  it('a turn’s attachments are checked and join the thread when the turn is accepted', async () => {
    const csv = await upload(alpha)
    const thread = await alpha.beta.threads.create()
    const post = (path: string, body: unknown) =>
      fetch(`${server.baseURL}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: 'Bearer sk-alpha', 'content-type': 'application/json' } })
    const bad = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'x', attachments: [{ file_id: 'file-0000000000000000000000', tools: [{ type: 'code_interpreter' }] }] })
    expect(bad.status).toBe(404)
    const ok = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'x', attachments: [{ file_id: csv.id, tools: [{ type: 'code_interpreter' }] }] })
    expect(ok.status).toBe(202)
    expect((await alpha.beta.threads.retrieve(thread.id)).tool_resources?.code_interpreter?.file_ids).toEqual([csv.id])
    const withThread = await post('/turns', { assistant_id: assistant.id, content: 'x', attachments: [{ file_id: csv.id, tools: [{ type: 'code_interpreter' }] }] })
    expect(withThread.status).toBe(202)
    const turn = (await withThread.json()) as { thread_id: string }
    expect((await alpha.beta.threads.retrieve(turn.thread_id)).tool_resources?.code_interpreter?.file_ids).toEqual([csv.id])
  })
})
