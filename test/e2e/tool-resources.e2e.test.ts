/**
 * `tool_resources` as OpenAI returns them, through the official node SDK against the API and real
 * worker processes (domain `withToolResourceDefaults`): an assistant has an empty entry for each
 * built-in tool it has (`code_interpreter: {file_ids: []}`, `file_search: {vector_store_ids: []}`),
 * nothing for one it lacks; a thread is created with what it is given (`{}` when nothing), and a
 * run on it — or createAndRun's own thread — adds `code_interpreter: {file_ids: []}`. Evidence:
 * the seed tutorial's printed assistants and thread, OpenAI's examples and cookbook, users' streams.
 */
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { settled } from './runs-support.js'
import { idOf } from './support.js'
import { type ToolStack, startToolStack } from './tools-support.js'

let stack: ToolStack
let client: OpenAI
beforeAll(async () => {
  stack = await startToolStack({ sandbox: false })
  client = stack.client
}, 120_000)
afterAll(() => stack?.close())

const CODE = { code_interpreter: { file_ids: [] } }
const SEARCH = { file_search: { vector_store_ids: [] } }
const fn: OpenAI.Beta.AssistantTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }
const listed = async (id: string) => (await client.beta.assistants.list({ limit: 100 })).data.find((a) => a.id === id)

describe('assistants: an empty entry for each built-in tool', () => {
  it.each<[string, OpenAI.Beta.AssistantTool[] | undefined, object]>([
    ['no tools (the seed\'s "Good writer")', undefined, {}],
    ['a function tool', [fn], {}],
    ['code_interpreter (the seed\'s "Data Engineer")', [{ type: 'code_interpreter' }], CODE],
    ['file_search', [{ type: 'file_search' }], SEARCH],
    ['all three', [{ type: 'code_interpreter' }, { type: 'file_search' }, fn], { ...CODE, ...SEARCH }],
  ])('%s: create, retrieve and list agree', async (_name, tools, expected) => {
    const assistant = await stack.assistant(tools ? { tools } : {})
    expect(assistant.tool_resources).toEqual(expected)
    expect((await client.beta.assistants.retrieve(assistant.id)).tool_resources).toEqual(expected)
    expect((await listed(assistant.id))!.tool_resources).toEqual(expected)
  })

  it('what is given is kept; only a missing entry is added', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from('a,b\n1,2\n'), 'data.csv'), purpose: 'assistants' })
    const store = await client.vectorStores.create({ name: 'kept' })
    const assistant = await stack.assistant({
      tools: [{ type: 'code_interpreter' }, { type: 'file_search' }],
      tool_resources: { code_interpreter: { file_ids: [file.id] } },
    })
    expect(assistant.tool_resources).toEqual({ code_interpreter: { file_ids: [file.id] }, ...SEARCH })
    const linked = await client.beta.assistants.update(assistant.id, { tool_resources: { file_search: { vector_store_ids: [store.id] } } })
    // Modify replaces the resources it is given (OpenAI: "overrides"); the tool's entry is back, empty.
    expect(linked.tool_resources).toEqual({ ...CODE, file_search: { vector_store_ids: [store.id] } })
    expect((await client.beta.assistants.retrieve(assistant.id)).tool_resources).toEqual(linked.tool_resources)
  })

  it('modify that adds a tool adds its entry (OpenAI cookbook: the Math Tutor given code_interpreter); one that drops it keeps it', async () => {
    const tutor = await stack.assistant({ name: 'Math Tutor', instructions: 'You are a personal math tutor.' })
    expect(tutor.tool_resources).toEqual({})
    const withCode = await client.beta.assistants.update(tutor.id, { tools: [{ type: 'code_interpreter' }] })
    expect(withCode.tool_resources).toEqual(CODE)
    expect((await client.beta.assistants.retrieve(tutor.id)).tool_resources).toEqual(CODE)
    // Stored, as OpenAI stores it: the entry stays when the tool goes.
    const without = await client.beta.assistants.update(tutor.id, { tools: [] })
    expect(without.tool_resources).toEqual(CODE)
    expect((await client.beta.assistants.retrieve(tutor.id)).tool_resources).toEqual(CODE)
  })

  it('an assistant stored before the entries existed reads back with them, and so does what copies it', async () => {
    const engineer = await stack.assistant({ tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] })
    const { redis, stores } = stack.api
    await redis.hset(stores.keys.assistant('test', engineer.id), 'tool_resources', '{}')
    expect((await client.beta.assistants.retrieve(engineer.id)).tool_resources).toEqual({ ...CODE, ...SEARCH })
    expect((await listed(engineer.id))!.tool_resources).toEqual({ ...CODE, ...SEARCH })
    // A run copies its assistant's tool_resources (its `tool_resources` field, which OpenAI's runs carry too).
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: engineer.id })
    expect((run as unknown as { tool_resources: unknown }).tool_resources).toEqual({ ...CODE, ...SEARCH })
    await settled(client, run)
  })
})

describe('threads: what they are given, and code_interpreter once a run is made on them', () => {
  it("threads.create: {} without anything; given resources echoed; a run adds the entry (the seed's retrieved thread)", async () => {
    const writer = await stack.assistant({ name: 'Good writer', instructions: 'You are an expert at writing excellent literature' })
    const thread = await client.beta.threads.create()
    expect(thread.tool_resources).toEqual({})
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Write a story.' })
    expect((await client.beta.threads.retrieve(thread.id)).tool_resources).toEqual({})
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: writer.id })
    expect((await client.beta.threads.retrieve(thread.id)).tool_resources).toEqual(CODE)
    expect((await settled(client, run)).status).toBe('completed')
    // More runs change nothing; a metadata modify keeps it.
    expect((await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: writer.id }, { pollIntervalMs: 100 })).status).toBe('completed')
    expect((await client.beta.threads.update(thread.id, { metadata: { k: 'v' } })).tool_resources).toEqual(CODE)

    const store = await client.vectorStores.create({ name: 'given' })
    const given = await client.beta.threads.create({ tool_resources: { file_search: { vector_store_ids: [store.id] } } })
    expect(given.tool_resources).toEqual({ file_search: { vector_store_ids: [store.id] } })
    await client.beta.threads.runs.createAndPoll(
      given.id,
      { assistant_id: writer.id, additional_messages: [{ role: 'user', content: 'hi' }] },
      { pollIntervalMs: 100 },
    )
    expect((await client.beta.threads.retrieve(given.id)).tool_resources).toEqual({ ...CODE, file_search: { vector_store_ids: [store.id] } })
  })

  it("createAndRun's thread has the entry from the start: thread.created, retrieve", async () => {
    const writer = await stack.assistant()
    const events: OpenAI.Beta.AssistantStreamEvent[] = []
    const stream = client.beta.threads.createAndRunStream({ assistant_id: writer.id, thread: { messages: [{ role: 'user', content: 'hi' }] } })
    for await (const event of stream) events.push(event)
    const created = events.find((e) => e.event === 'thread.created')!.data as OpenAI.Beta.Thread
    expect(created.tool_resources).toEqual(CODE)
    expect((await client.beta.threads.retrieve(created.id)).tool_resources).toEqual(CODE)

    const store = await client.vectorStores.create({ name: 'thread store' })
    const run = await client.beta.threads.createAndRun({
      assistant_id: writer.id,
      thread: { messages: [{ role: 'user', content: 'hi' }], tool_resources: { file_search: { vector_store_ids: [store.id] } } },
    })
    expect((await client.beta.threads.retrieve(run.thread_id)).tool_resources).toEqual({ ...CODE, file_search: { vector_store_ids: [store.id] } })
    await settled(client, run)
  })

  it('a file_search attachment makes and links the thread store: alone on threads.create, beside code_interpreter on createAndRun', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from('The pump runs at 40 bar.'), 'pump.md'), purpose: 'assistants' })
    const attachments = [{ file_id: file.id, tools: [{ type: 'file_search' as const }] }]
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'read this', attachments }] })
    expect(thread.tool_resources).toEqual({ file_search: { vector_store_ids: [idOf('vs')] } })

    const writer = await stack.assistant()
    const run = await client.beta.threads.createAndRun({ assistant_id: writer.id, thread: { messages: [{ role: 'user', content: 'read this', attachments }] } })
    expect((await client.beta.threads.retrieve(run.thread_id)).tool_resources).toEqual({ ...CODE, file_search: { vector_store_ids: [idOf('vs')] } })
    await settled(client, run)
  })

  it("a turn (Threadwork's own endpoint) is a run too", async () => {
    const writer = await stack.assistant()
    const thread = await client.beta.threads.create()
    const turn = await client.post<{ id: string }>(`/threads/${thread.id}/turns`, { body: { assistant_id: writer.id, content: 'hi' } })
    await expect
      .poll(async () => (await client.get<{ status: string }>(`/threads/${thread.id}/turns/${turn.id}`)).status, { timeout: 30_000, interval: 100 })
      .toBe('completed')
    expect((await client.beta.threads.retrieve(thread.id)).tool_resources).toEqual(CODE)
  })
})
