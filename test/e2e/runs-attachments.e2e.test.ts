/**
 * Files in messages reach what can read them (issue 12 item 11), through the official node SDK
 * against real worker processes: an `image_file` part reaches the model as image data. (A
 * `code_interpreter` attachment reaching /mnt/data is in code-interpreter-runs.e2e.test.ts; a
 * `file_search` attachment reaching the thread's vector store is in file-search-runs.e2e.test.ts.)
 */
import { toFile } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type ToolStack, replyText, startToolStack } from './tools-support.js'

let stack: ToolStack
beforeAll(async () => {
  stack = await startToolStack({ sandbox: false })
}, 180_000)
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

// A 1×1 PNG.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f2a1c80000000049454e44ae426082', 'hex')

describe('files in messages reach the model', () => {
  it('an image_file part is sent to the model as the image itself (a data URL of the File), not a placeholder', async () => {
    const client = stack.client
    const image = await client.files.create({ file: await toFile(PNG, 'dot.png'), purpose: 'vision' })
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_file', image_file: { file_id: image.id, detail: 'low' } }] }],
    })
    stack.upstream.respondOnce({ kind: 'text', text: 'A dot.' })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    const user = stack.upstream.requests[0]!.body.messages.find((m) => m.role === 'user')!
    expect(user.content).toEqual([
      { type: 'text', text: 'What is in this image?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}`, detail: 'low' } },
    ])
    expect(replyText((await client.beta.threads.messages.list(thread.id)).data[0])).toBe('A dot.')
    // The stored message keeps its image_file part.
    const stored = (await client.beta.threads.messages.list(thread.id, { order: 'asc' })).data[0]!
    expect(stored.content[1]).toEqual({ type: 'image_file', image_file: { file_id: image.id, detail: 'low' } })
  })

  it('an image file that is gone does not stop the run: the model is told it is not available', async () => {
    const client = stack.client
    const image = await client.files.create({ file: await toFile(PNG, 'gone.png'), purpose: 'vision' })
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: [{ type: 'image_file', image_file: { file_id: image.id } }] }] })
    await client.files.delete(image.id)
    stack.upstream.respondOnce({ kind: 'text', text: 'I cannot see it.' })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    const user = stack.upstream.requests[0]!.body.messages.find((m) => m.role === 'user')!
    expect(JSON.stringify(user.content)).toContain(`Image file ${image.id} was attached but is not available to the model.`)
  })
})
