/**
 * The seed tutorial's Assistants / Threads / Messages calls (research seed 000, a Python walkthrough),
 * made with the official Node SDK against the real API, checking every field of what comes back
 * against OpenAI's object shapes.
 */
import type { ApiServer } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf, recentSeconds, startStack } from './support.js'

let server: ApiServer
let client: OpenAI
beforeAll(async () => {
  ;({ server, client } = await startStack())
})
afterAll(() => server?.close())

const keysOf = (o: object) => Object.keys(o).sort()
const ASSISTANT_KEYS = [
  'created_at',
  'description',
  'id',
  'instructions',
  'metadata',
  'model',
  'name',
  'object',
  'response_format',
  'temperature',
  'tool_resources',
  'tools',
  'top_p',
]
const THREAD_KEYS = ['created_at', 'id', 'metadata', 'object', 'tool_resources']
const MESSAGE_KEYS = [
  'assistant_id',
  'attachments',
  'completed_at',
  'content',
  'created_at',
  'id',
  'incomplete_at',
  'incomplete_details',
  'metadata',
  'object',
  'role',
  'run_id',
  'status',
  'thread_id',
]

/** What every message a client creates looks like, apart from role, content, attachments, metadata. */
const clientMessage = (threadId: string) => ({
  id: idOf('msg'),
  object: 'thread.message',
  created_at: recentSeconds(),
  thread_id: threadId,
  status: 'completed',
  incomplete_details: null,
  completed_at: expect.toSatisfy((v: unknown) => v === null || Number.isInteger(v), 'null or integer seconds'),
  incomplete_at: null,
  assistant_id: null,
  run_id: null,
})

describe('assistants (seed §2 stage 1, §3.1)', () => {
  it('creates the "Good writer" with only model, name and instructions, filling OpenAI defaults', async () => {
    const assistant = await client.beta.assistants.create({
      model: 'gpt-4o-mini-2024-07-18',
      name: 'Good writer',
      instructions: 'You are an expert at writing excellent literature',
    })
    // The seed's `assistant.to_dict()`, with our id and timestamp.
    expect(assistant).toEqual({
      id: idOf('asst'),
      object: 'assistant',
      created_at: recentSeconds(),
      name: 'Good writer',
      description: null,
      model: 'gpt-4o-mini-2024-07-18',
      instructions: 'You are an expert at writing excellent literature',
      tools: [],
      tool_resources: {},
      metadata: {},
      temperature: 1,
      top_p: 1,
      response_format: 'auto',
    })
    expect(keysOf(assistant)).toEqual(ASSISTANT_KEYS)
    expect(await client.beta.assistants.retrieve(assistant.id)).toEqual(assistant)
  })

  it('lists, retrieves, updates and deletes as the seed does', async () => {
    const engineer = await client.beta.assistants.create({
      model: 'gpt-4o-mini-2024-07-18',
      name: 'Data Engineer',
      instructions: "You're a weather data analyst. When asked for data information, write and run code to answer the question",
      tools: [{ type: 'code_interpreter' }],
      tool_resources: { code_interpreter: { file_ids: [] } },
      metadata: { team: 'weather' },
    })
    expect(engineer).toMatchObject({ tools: [{ type: 'code_interpreter' }], tool_resources: { code_interpreter: { file_ids: [] } }, metadata: { team: 'weather' } })

    // `client.beta.assistants.list(order="desc", limit="20")`: newest first.
    const page = await client.beta.assistants.list({ order: 'desc', limit: 20 })
    const ids = page.data.map((a) => a.id)
    expect(ids[0]).toBe(engineer.id)
    for (const a of page.data) expect(keysOf(a)).toEqual(ASSISTANT_KEYS)

    const updated = await client.beta.assistants.update(engineer.id, { instructions: "You're a famous rapper", name: 'Rapper', model: 'gpt-4o' })
    expect(updated).toEqual({ ...engineer, instructions: "You're a famous rapper", name: 'Rapper', model: 'gpt-4o' })
    expect(await client.beta.assistants.retrieve(engineer.id)).toEqual(updated)

    // Fields left out of an update keep their value; null resets to OpenAI's default.
    const reset = await client.beta.assistants.update(engineer.id, { description: 'Raps about weather', metadata: null, temperature: 0.2 })
    expect(reset).toEqual({ ...updated, description: 'Raps about weather', metadata: {}, temperature: 0.2 })

    const deleted = await client.beta.assistants.delete(engineer.id)
    expect(deleted).toEqual({ id: engineer.id, object: 'assistant.deleted', deleted: true })
    await expect(client.beta.assistants.retrieve(engineer.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.beta.assistants.delete(engineer.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    const after = await client.beta.assistants.list({ limit: 100 })
    expect(after.data.map((a) => a.id)).not.toContain(engineer.id)
  })
})

describe('threads (seed §2 stage 2, §3.2)', () => {
  it('creates an empty thread with no parameters', async () => {
    const thread = await client.beta.threads.create()
    // The seed's `thread.to_dict()`.
    expect(thread).toEqual({ id: idOf('thread'), object: 'thread', created_at: recentSeconds(), metadata: {}, tool_resources: {} })
    expect(keysOf(thread)).toEqual(THREAD_KEYS)
    expect(await client.beta.threads.retrieve(thread.id)).toEqual(thread)
    const empty = await client.beta.threads.messages.list(thread.id)
    expect(empty.data).toEqual([])
    expect(empty.has_more).toBe(false)
  })

  it('creates a thread with messages and metadata, updates it, and deletes it with its messages', async () => {
    const thread = await client.beta.threads.create({
      messages: [
        { role: 'user', content: '写一篇国庆节普天同庆的庆祝文章' },
        { role: 'assistant', content: [{ type: 'text', text: '国庆佳节，普天同庆。' }], metadata: { source: 'seed' } },
      ],
      metadata: { user: 'u-1' },
    })
    expect(thread).toEqual({ id: idOf('thread'), object: 'thread', created_at: recentSeconds(), metadata: { user: 'u-1' }, tool_resources: {} })

    const asc = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(asc.data).toEqual([
      { ...clientMessage(thread.id), role: 'user', content: [{ type: 'text', text: { value: '写一篇国庆节普天同庆的庆祝文章', annotations: [] } }], attachments: [], metadata: {} },
      { ...clientMessage(thread.id), role: 'assistant', content: [{ type: 'text', text: { value: '国庆佳节，普天同庆。', annotations: [] } }], attachments: [], metadata: { source: 'seed' } },
    ])
    // Default order is desc: newest first.
    const desc = await client.beta.threads.messages.list(thread.id)
    expect(desc.data.map((m) => m.id)).toEqual(asc.data.map((m) => m.id).reverse())

    const updated = await client.beta.threads.update(thread.id, { metadata: { user: 'u-1', topic: 'holiday' } })
    expect(updated).toEqual({ ...thread, metadata: { user: 'u-1', topic: 'holiday' } })
    expect(await client.beta.threads.retrieve(thread.id)).toEqual(updated)

    const deleted = await client.beta.threads.delete(thread.id)
    expect(deleted).toEqual({ id: thread.id, object: 'thread.deleted', deleted: true })
    await expect(client.beta.threads.retrieve(thread.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.beta.threads.update(thread.id, { metadata: {} })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.beta.threads.delete(thread.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.beta.threads.messages.list(thread.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    for (const m of asc.data) {
      await expect(client.beta.threads.messages.retrieve(m.id, { thread_id: thread.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      // Gone from Redis too, not just hidden.
      expect(await server.redis.exists(server.stores.keys.message(thread.id, m.id))).toBe(0)
    }
    expect(await server.redis.exists(server.stores.keys.messages(thread.id), server.stores.keys.thread(thread.id))).toBe(0)
  })
})

describe('messages (seed §2 stage 3, §3.3)', () => {
  it('creates a user message from a string, as in the seed', async () => {
    const thread = await client.beta.threads.create()
    const text = '写一篇关于一个小女孩在森林里遇到一只怪兽的故事。详细介绍她的所见所闻，并描述她的心里活动'
    const message = await client.beta.threads.messages.create(thread.id, { role: 'user', content: text })
    // The seed's `message.to_dict()`, plus the status fields today's API returns.
    expect(message).toEqual({
      ...clientMessage(thread.id),
      role: 'user',
      content: [{ type: 'text', text: { value: text, annotations: [] } }],
      attachments: [],
      metadata: {},
    })
    expect(keysOf(message)).toEqual(MESSAGE_KEYS)
    expect(await client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id })).toEqual(message)

    // `response.data[0].content[0].text.value`
    const response = await client.beta.threads.messages.list(thread.id)
    const first = response.data[0]?.content[0]
    expect(first?.type === 'text' ? first.text.value : undefined).toBe(text)
  })

  it('creates content-part, assistant-role, attachment and metadata messages', async () => {
    const thread = await client.beta.threads.create()
    // Attachments must name one of the project's files (test/e2e/attachments.e2e.test.ts).
    const attached = await client.files.create({ file: await toFile(Buffer.from('a,b\n'), 'data.csv'), purpose: 'assistants' })
    const parts = await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'image_file', image_file: { file_id: 'file-abc123', detail: 'low' } },
      ],
      attachments: [{ file_id: attached.id, tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] }],
      metadata: { channel: 'web', locale: 'zh-CN' },
    })
    expect(parts).toEqual({
      ...clientMessage(thread.id),
      role: 'user',
      content: [
        { type: 'text', text: { value: 'What is in this picture?', annotations: [] } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'auto' } },
        { type: 'image_file', image_file: { file_id: 'file-abc123', detail: 'low' } },
      ],
      attachments: [{ file_id: attached.id, tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] }],
      metadata: { channel: 'web', locale: 'zh-CN' },
    })

    // A client may write the assistant's side of the conversation; it is not tied to a run or assistant.
    const reply = await client.beta.threads.messages.create(thread.id, { role: 'assistant', content: 'A cat.' })
    expect(reply).toEqual({
      ...clientMessage(thread.id),
      role: 'assistant',
      content: [{ type: 'text', text: { value: 'A cat.', annotations: [] } }],
      attachments: [],
      metadata: {},
    })

    const list = await client.beta.threads.messages.list(thread.id)
    expect(list.data).toEqual([reply, parts])
    const raw = await (await client.beta.threads.messages.list(thread.id, { limit: 1 }).asResponse()).json()
    expect(raw).toEqual({ object: 'list', data: [reply], first_id: reply.id, last_id: reply.id, has_more: true })
  })

  it('updates a message’s metadata and deletes it', async () => {
    const thread = await client.beta.threads.create()
    const keep = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'keep me' })
    const message = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'hello', metadata: { a: '1' } })

    const updated = await client.beta.threads.messages.update(message.id, { thread_id: thread.id, metadata: { a: '1', b: '2' } })
    expect(updated).toEqual({ ...message, metadata: { a: '1', b: '2' } })
    expect(await client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id })).toEqual(updated)

    const deleted = await client.beta.threads.messages.delete(message.id, { thread_id: thread.id })
    expect(deleted).toEqual({ id: message.id, object: 'thread.message.deleted', deleted: true })
    await expect(client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.beta.threads.messages.delete(message.id, { thread_id: thread.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await client.beta.threads.messages.list(thread.id)).data).toEqual([keep])
  })
})
