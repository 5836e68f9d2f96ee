/**
 * file_search in runs through the official node SDK (issue 10 items 6 and 9, issue 12 items 5 and
 * 11): real worker processes ingest real files into LanceDB and run the searches server-side; the
 * only stand-in is the model (the fake upstream: chat told which queries to search and to cite the
 * first source marker it was handed; embeddings that carry lexical similarity). The seed
 * tutorial's "Large language model technical assistant", unchanged but for `baseURL`.
 */
import { fileSearchCall, sourceMarkersIn, toolScript } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type ToolStack, replyText, startToolStack, toolCallsOf } from './tools-support.js'

const INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content' as const
let stack: ToolStack
let client: OpenAI
let storeId: string
const docs: Record<string, string> = {}

const TEXTS: Record<string, string> = {
  'transformer.md':
    'The Transformer architecture relies on multi-head self-attention. The base model uses 8 attention heads and a model dimension of 512. ' +
    'Positional encodings are added to the token embeddings because attention itself has no notion of order.',
  'pump-manual.md':
    'The hydraulic pump operates at 40 bar nominal pressure. Replace the pump seals every 2000 operating hours. ' +
    'Bleed the air from the hydraulic lines before the first start.',
  'recipes.md': 'Knead the bread dough for ten minutes, then let it rise for one hour in a warm place. Bake at 220 degrees until golden.',
}

beforeAll(async () => {
  stack = await startToolStack({ sandbox: false })
  client = stack.client
  const store = await client.vectorStores.create({ name: 'LLM knowledge' })
  storeId = store.id
  const files = await Promise.all(Object.entries(TEXTS).map(([name, text]) => toFile(Buffer.from(text), name)))
  const batch = await client.vectorStores.fileBatches.uploadAndPoll(storeId, { files }, { pollIntervalMs: 100 })
  expect(batch.file_counts).toMatchObject({ completed: 3, failed: 0 })
  for (const f of (await client.vectorStores.files.list(storeId)).data) {
    const meta = await client.files.retrieve(f.id)
    docs[meta.filename] = f.id
  }
}, 120_000)
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

/** The seed's file_search assistant (tutorial: "Large language model technical assistant"). */
const technicalAssistant = (vectorStoreIds = [storeId], fileSearch: OpenAI.Beta.FileSearchTool['file_search'] = { ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } }) =>
  client.beta.assistants.create({
    name: 'Large language model technical assistant',
    instructions: 'You are a professional large model technician and apply your basic knowledge to answer large model related questions',
    model: 'gpt-4o-mini',
    tools: [{ type: 'file_search', file_search: fileSearch }],
    tool_resources: { file_search: { vector_store_ids: vectorStoreIds } },
  })

/** The model: search for `query`, then answer citing the first source it was handed. */
const searchThenCite = (query: string, answer: string) =>
  toolScript([{ call: fileSearchCall(query) }, { answer: ({ outputs }) => `${answer} ${sourceMarkersIn(outputs[0] ?? '')[0] ?? '(no source)'}` }])

const searchCalls = (calls: OpenAI.Beta.Threads.Runs.ToolCall[]) => calls.filter((c): c is OpenAI.Beta.Threads.Runs.FileSearchToolCall => c.type === 'file_search')

describe('file_search in runs (node SDK)', { timeout: 90_000 }, () => {
  it('answers from, and cites, the right one of several files; the step records the search', async () => {
    stack.upstream.respond(searchThenCite('how many attention heads does the transformer base model use', 'The base model uses 8 attention heads.'))
    const assistant = await technicalAssistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'How many attention heads does the Transformer base model have?' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')

    const [call] = searchCalls(await toolCallsOf(client, run))
    expect(call!.file_search.ranking_options).toEqual({ ranker: 'default_2024_08_21', score_threshold: 0 })
    const results = call!.file_search.results!
    expect(results.length).toBeGreaterThan(0)
    expect(results[0]).toMatchObject({ file_id: docs['transformer.md'], file_name: 'transformer.md', score: expect.any(Number) })
    expect(results[0]!.score).toBeGreaterThan(0)
    expect(results[0]!.score).toBeLessThanOrEqual(1)
    // content only when asked for.
    expect(results.every((r) => r.content === undefined)).toBe(true)
    const [withContent] = searchCalls(await toolCallsOf(client, run, [INCLUDE]))
    expect(withContent!.file_search.results![0]!.content).toEqual([{ type: 'text', text: expect.stringContaining('8 attention heads') }])

    // The model was handed the chunks with source markers, and searched with its own queries.
    const handed = stack.upstream.requests[1]!.body.messages.at(-1)
    expect(handed).toMatchObject({ role: 'tool', content: expect.stringContaining('【0:0†transformer.md】') })
    expect(stack.upstream.requests[0]!.body.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'file_search' }) })])

    const [reply] = (await client.beta.threads.messages.list(thread.id)).data
    const text = reply!.content[0]!
    if (text.type !== 'text') throw new Error('no text')
    expect(text.text.value).toBe('The base model uses 8 attention heads. 【0:0†transformer.md】')
    expect(text.text.annotations).toEqual([
      { type: 'file_citation', text: '【0:0†transformer.md】', file_citation: { file_id: docs['transformer.md'] }, start_index: 39, end_index: 59 },
    ])
    expect(text.text.value.slice(39, 59)).toBe('【0:0†transformer.md】')
  })

  it('streamed with include[]: the search step streams created → completed with content, citations arrive before the message completes', async () => {
    stack.upstream.respond(searchThenCite('hydraulic pump nominal pressure bar', 'It runs at 40 bar.'))
    const assistant = await technicalAssistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'What pressure does the pump run at?' }] })
    const created: string[] = []
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id, include: [INCLUDE] }).on('toolCallCreated', (c) => created.push(c.type))
    const completedSteps: OpenAI.Beta.Threads.Runs.RunStep[] = []
    stream.on('runStepDone', (step) => completedSteps.push(step))
    const run = await stream.finalRun()
    expect(run.status).toBe('completed')
    expect(created).toEqual(['file_search'])
    const searchStep = completedSteps.find((s) => s.type === 'tool_calls')!
    const [call] = searchCalls(searchStep.step_details.type === 'tool_calls' ? searchStep.step_details.tool_calls : [])
    expect(call!.file_search.results![0]).toMatchObject({ file_name: 'pump-manual.md', content: [{ type: 'text', text: expect.stringContaining('40 bar') }] })
    const messages = await stream.finalMessages()
    const text = messages.at(-1)!.content[0]!
    expect(text.type === 'text' && text.text.annotations).toEqual([expect.objectContaining({ type: 'file_citation', file_citation: { file_id: docs['pump-manual.md'] } })])
  })

  it('max_num_results and score_threshold of the tool bound the results', async () => {
    stack.upstream.respond(searchThenCite('bread dough knead rise bake', 'Knead for ten minutes.'))
    const assistant = await technicalAssistant([storeId], { max_num_results: 1 })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'How long do I knead?' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    const [call] = searchCalls(await toolCallsOf(client, run))
    expect(call!.file_search.results).toHaveLength(1)
    expect(call!.file_search.results![0]!.file_name).toBe('recipes.md')
    // The ranker OpenAI fills in when none is given (the run's tools say the same, see below).
    expect(call!.file_search.ranking_options).toEqual({ ranker: 'default_2024_08_21', score_threshold: 0 })

    stack.upstream.respond(searchThenCite('bread dough knead rise bake', 'Nothing.'))
    const strict = await technicalAssistant([storeId], { ranking_options: { score_threshold: 1 } })
    const thread2 = await client.beta.threads.create({ messages: [{ role: 'user', content: 'How long do I knead?' }] })
    const run2 = await client.beta.threads.runs.createAndPoll(thread2.id, { assistant_id: strict.id }, { pollIntervalMs: 100 })
    expect(run2.status).toBe('completed')
    expect(searchCalls(await toolCallsOf(client, run2))[0]!.file_search.results).toEqual([])
    expect(replyText((await client.beta.threads.messages.list(thread2.id)).data[0])).toBe('Nothing. (no source)')
  })

  it('a file attached to a message with file_search reaches the search (the thread store), with no store on the assistant', async () => {
    const note = await client.files.create({ file: await toFile(Buffer.from('The staging cluster password rotation happens every Tuesday at 09:00.'), 'ops-notes.md'), purpose: 'assistants' })
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'When is the password rotation?', attachments: [{ file_id: note.id, tools: [{ type: 'file_search' }] }] }],
    })
    const threadStore = (await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids?.[0]
    expect(threadStore).toMatch(/^vs_/)
    await expect
      .poll(async () => (await client.vectorStores.retrieve(threadStore!)).file_counts.completed, { timeout: 30_000, interval: 100 })
      .toBe(1)
    stack.upstream.respond(searchThenCite('password rotation staging cluster', 'Every Tuesday at 09:00.'))
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    expect(searchCalls(await toolCallsOf(client, run))[0]!.file_search.results![0]).toMatchObject({ file_id: note.id, file_name: 'ops-notes.md' })
    const text = (await client.beta.threads.messages.list(thread.id)).data[0]!.content[0]!
    expect(text.type === 'text' && text.text.annotations[0]).toMatchObject({ type: 'file_citation', file_citation: { file_id: note.id } })
  })

  it("a run started while the thread's store is still ingesting its attachment waits for it (OpenAI's 60 s fallback), then cites it", async () => {
    // OpenAI's own quickstart: attach the file to the message and create_and_poll at once, no polling of the store.
    const note = await client.files.create({ file: await toFile(Buffer.from('The reactor nine emergency shutdown code is ZEBRA-4471.'), 'reactor.md'), purpose: 'assistants' })
    stack.upstream.respondEmbeddingsOnce({ status: 200, delayMs: 2500 }) // the attachment's ingestion: slow embeddings
    stack.upstream.respond(searchThenCite('reactor nine emergency shutdown code', 'ZEBRA-4471.'))
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    const thread = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'What is the shutdown code of reactor nine?', attachments: [{ file_id: note.id, tools: [{ type: 'file_search' }] }] }],
    })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    expect(searchCalls(await toolCallsOf(client, run))[0]!.file_search.results![0]).toMatchObject({ file_id: note.id, file_name: 'reactor.md' })
    const text = (await client.beta.threads.messages.list(thread.id)).data[0]!.content[0]!
    expect(text.type === 'text' && text.text.annotations[0]).toMatchObject({ type: 'file_citation', file_citation: { file_id: note.id } })
  })

  it('tool_choice {type:"file_search"} forces a search in the first round only', async () => {
    stack.upstream.respond((req) =>
      typeof req.body.tool_choice === 'object' && req.body.tool_choice?.type === 'function'
        ? { kind: 'tool_calls', calls: [fileSearchCall('transformer positional encodings')] }
        : { kind: 'text', text: `choice was ${JSON.stringify(req.body.tool_choice)}` },
    )
    const assistant = await technicalAssistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id, tool_choice: { type: 'file_search' } }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    expect(stack.upstream.requests[0]!.body.tool_choice).toEqual({ type: 'function', function: { name: 'file_search' } })
    expect(searchCalls(await toolCallsOf(client, run))).toHaveLength(1)
    expect(replyText((await client.beta.threads.messages.list(thread.id)).data[0])).toBe('choice was "auto"')
  })

  it('an assistant with file_search but no vector store is not offered the search (nothing to search)', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: 'plain' })
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(run.status).toBe('completed')
    expect(stack.upstream.requests[0]!.body.tools).toBeUndefined()
  })
})

/** What OpenAI echoes for `{type: "file_search"}` (the seed's printed assistants). */
const FILLED = { type: 'file_search', file_search: { ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } } }
const fileSearchOf = (tools: OpenAI.Beta.AssistantTool[]) => tools.find((t): t is OpenAI.Beta.FileSearchTool => t.type === 'file_search')

describe("the file_search tool as it comes back: OpenAI's defaults filled in", { timeout: 90_000 }, () => {
  it('assistants create, retrieve, list and modify', async () => {
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    expect(assistant.tools).toEqual([FILLED])
    // The seed tutorial's read: tools[0].file_search.ranking_options.
    expect(fileSearchOf(assistant.tools)!.file_search!.ranking_options!.ranker).toBe('default_2024_08_21')
    expect((await client.beta.assistants.retrieve(assistant.id)).tools).toEqual([FILLED])
    const listed = (await client.beta.assistants.list({ limit: 100 })).data.find((a) => a.id === assistant.id)
    expect(listed!.tools).toEqual([FILLED])

    // What the user gives is kept; only what is missing is filled (no max_num_results is invented).
    const cases: [OpenAI.Beta.FileSearchTool['file_search'], OpenAI.Beta.FileSearchTool['file_search']][] = [
      [{ max_num_results: 5 }, { max_num_results: 5, ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } }],
      [{ ranking_options: { score_threshold: 0.3 } }, { ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0.3 } }],
      [{ ranking_options: { ranker: 'auto', score_threshold: 0 } }, { ranking_options: { ranker: 'auto', score_threshold: 0 } }],
    ]
    for (const [given, echoed] of cases) {
      const updated = await client.beta.assistants.update(assistant.id, { tools: [{ type: 'code_interpreter' }, { type: 'file_search', file_search: given }] })
      expect(updated.tools).toEqual([{ type: 'code_interpreter' }, { type: 'file_search', file_search: echoed }])
      expect((await client.beta.assistants.retrieve(assistant.id)).tools[1]).toEqual({ type: 'file_search', file_search: echoed })
    }
  })

  it("runs (the assistant's tools or the run's own), createAndRun, the stream's run events and turns", async () => {
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })

    const fromAssistant = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    expect(fromAssistant.tools).toEqual([FILLED])
    const done = await client.beta.threads.runs.poll(fromAssistant.id, { thread_id: thread.id }, { pollIntervalMs: 100 })
    expect(done.tools).toEqual([FILLED])
    expect((await client.beta.threads.runs.list(thread.id)).data[0]!.tools).toEqual([FILLED])

    const overridden = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id, tools: [{ type: 'file_search', file_search: { max_num_results: 3 } }] },
      { pollIntervalMs: 100 },
    )
    expect(overridden.tools).toEqual([
      { type: 'file_search', file_search: { max_num_results: 3, ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } } },
    ])

    const plain = await client.beta.assistants.create({ model: 'gpt-4o-mini' })
    const createAndRun = await client.beta.threads.createAndRun({
      assistant_id: plain.id,
      tools: [{ type: 'file_search' }],
      thread: { messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(createAndRun.tools).toEqual([FILLED])
    await client.beta.threads.runs.poll(createAndRun.id, { thread_id: createAndRun.thread_id }, { pollIntervalMs: 100 })

    const runEvents: OpenAI.Beta.Threads.Run[] = []
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id })
    for await (const event of stream)
      if (event.event.startsWith('thread.run.') && !event.event.startsWith('thread.run.step')) runEvents.push(event.data as OpenAI.Beta.Threads.Run)
    expect(runEvents.map((r) => r.status)).toContain('completed')
    for (const r of runEvents) expect(r.tools).toEqual([FILLED])

    // A turn's run settings (Threadwork's extension) go through the same schema.
    const turn = await client.post<{ id: string; run_id: string }>(`/threads/${thread.id}/turns`, {
      body: { assistant_id: plain.id, content: 'hi', run: { tools: [{ type: 'file_search' }] } },
    })
    // The turn's run exists once the turn starts (turns wait their place in line).
    await expect
      .poll(async () => (await client.get<{ status: string }>(`/threads/${thread.id}/turns/${turn.id}`)).status, { timeout: 30_000, interval: 100 })
      .toBe('completed')
    expect((await client.beta.threads.runs.retrieve(turn.run_id, { thread_id: thread.id })).tools).toEqual([FILLED])
  })

  it('assistants and runs stored before the defaults existed read back with them', async () => {
    const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', tools: [{ type: 'file_search' }] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    // Rewrite both as the earlier code stored them.
    const { redis, stores } = stack.api
    await redis.hset(stores.keys.assistant('test', assistant.id), 'tools', JSON.stringify([{ type: 'file_search' }]))
    await redis.hset(stores.keys.run(thread.id, run.id), 'tools', JSON.stringify([{ type: 'file_search', file_search: { max_num_results: 4 } }]))

    expect((await client.beta.assistants.retrieve(assistant.id)).tools).toEqual([FILLED])
    expect((await client.beta.assistants.list({ limit: 100 })).data.find((a) => a.id === assistant.id)!.tools).toEqual([FILLED])
    expect((await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).tools).toEqual([
      { type: 'file_search', file_search: { max_num_results: 4, ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0 } } },
    ])
    // And a new run copies the assistant's tools with the defaults.
    const next = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
    expect(next.tools).toEqual([FILLED])
  })

  it("the search step's ranking_options are the run's: filled default, or the run's own ranker", async () => {
    const assistant = await technicalAssistant([storeId], {})
    const cases: [OpenAI.Beta.FileSearchTool['file_search'] | undefined, { ranker: string; score_threshold: number }][] = [
      [undefined, { ranker: 'default_2024_08_21', score_threshold: 0 }],
      [{ ranking_options: { ranker: 'auto', score_threshold: 0 } }, { ranker: 'auto', score_threshold: 0 }],
      [{ ranking_options: { score_threshold: 0.01 } }, { ranker: 'default_2024_08_21', score_threshold: 0.01 }],
    ]
    for (const [override, used] of cases) {
      stack.upstream.respond(searchThenCite('transformer attention heads', 'Eight.'))
      const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'How many heads?' }] })
      const run = await client.beta.threads.runs.createAndPoll(
        thread.id,
        { assistant_id: assistant.id, ...(override ? { tools: [{ type: 'file_search', file_search: override }] } : {}) },
        { pollIntervalMs: 100 },
      )
      expect(run.status).toBe('completed')
      expect(fileSearchOf(run.tools)!.file_search!.ranking_options).toEqual(used)
      const [call] = searchCalls(await toolCallsOf(client, run))
      expect(call!.file_search.ranking_options).toEqual(used)
    }
  })
})
