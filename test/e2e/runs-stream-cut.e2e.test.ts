/**
 * Issue 15: a model stream that just stops — no `finish_reason` chunk, no `data: [DONE]`, the
 * connection closed cleanly — is not a finished answer. Before any text it is retried like other
 * transient faults; after text the run fails with `server_error` ("the model's stream ended
 * early") and the partial reply is kept `incomplete`, never `completed`. A provider route marked
 * `omitsFinishReason` keeps the old behaviour. Through the official SDK, polled and streamed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeUpstream } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string
let dir: string

const LENIENT = 'lenient-model'

beforeAll(async () => {
  const upstream = await startFakeUpstream()
  // The same fake server twice: as the default provider, and under a route whose server is known
  // to end streams without finish_reason.
  const routes = [{ name: 'lenient', match: LENIENT, baseURL: upstream.baseURL, omitsFinishReason: true }]
  dir = await mkdtemp(join(tmpdir(), 'threadwork-cut-'))
  await writeFile(join(dir, 'providers.json'), JSON.stringify(routes))
  stack = await startRunStack({ upstream, api: { providerRoutes: routes }, worker: { PROVIDERS_FILE: join(dir, 'providers.json') } })
  client = stack.client
  assistantId = (await stack.assistant()).id
})
afterAll(async () => {
  await stack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})
beforeEach(() => stack.upstream.reset())

const CUT_TEXT = 'The answer is forty two.'
/** The fake model sends "The answer is forty" (four chunks), then closes the stream cleanly. */
const cutAfterText = { kind: 'cut', afterChunks: 4, text: CUT_TEXT } as const

async function newThread(content = 'What is the answer?') {
  return client.beta.threads.create({ messages: [{ role: 'user', content }] })
}

async function assistantReplies(threadId: string) {
  return (await client.beta.threads.messages.list(threadId)).data.filter((m) => m.role === 'assistant')
}

/** The run failed with the early-end error and its partial reply is stored incomplete. */
async function expectFailedWithPartial(run: OpenAI.Beta.Threads.Run) {
  expect(run.status).toBe('failed')
  expect(run.last_error).toEqual({ code: 'server_error', message: expect.stringMatching(/model's stream ended early/) })
  const replies = await assistantReplies(run.thread_id)
  expect(replies).toHaveLength(1)
  expect(replies[0]).toMatchObject({ status: 'incomplete', run_id: run.id, incomplete_details: { reason: 'run_failed' } })
  expect(textOf(replies[0]!)).toBe('The answer is forty ')
  const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id })
  expect(steps.data.map((s) => s.status)).toEqual(['failed'])
  // Not retried: the text was already shown, a second attempt would repeat it.
  expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(1)
}

describe('a stream that ends without finish_reason after text', () => {
  it('polled: the run fails with server_error, the partial message is kept incomplete', async () => {
    stack.upstream.respondOnce(cutAfterText)
    const thread = await newThread()
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, { pollIntervalMs: 50 })
    await expectFailedWithPartial(run)
  })

  it('streamed: the SDK sees the text, then message incomplete and run failed, and the stream ends', async () => {
    stack.upstream.respondOnce(cutAfterText)
    const thread = await newThread()
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistantId })
    const events: string[] = []
    let text = ''
    for await (const event of stream) {
      events.push(event.event)
      if (event.event === 'thread.message.delta') {
        const part = event.data.delta.content?.[0]
        if (part?.type === 'text') text += part.text?.value ?? ''
      }
    }
    expect(text).toBe('The answer is forty ')
    expect(events).not.toContain('thread.message.completed')
    expect(events).not.toContain('thread.run.completed')
    expect(events.slice(-3)).toEqual(['thread.message.incomplete', 'thread.run.step.failed', 'thread.run.failed'])
    const run = await stream.finalRun()
    await expectFailedWithPartial(await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }))
  })
})

describe('a stream that ends without finish_reason before any text', () => {
  it('polled: retried like a transient fault, and the run completes with one whole reply', async () => {
    stack.upstream.respondOnce({ kind: 'cut' })
    const thread = await newThread('hello')
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, { pollIntervalMs: 50 })
    expect(run).toMatchObject({ status: 'completed', last_error: null })
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(2)
    const replies = await assistantReplies(thread.id)
    expect(replies).toHaveLength(1)
    expect(replies[0]!.status).toBe('completed')
    expect(textOf(replies[0]!)).toBe('Echo: hello [context: 1 messages]')
  })

  it('streamed: the client sees only the retried attempt’s reply, completed', async () => {
    stack.upstream.respondOnce({ kind: 'cut' }, { kind: 'cut', afterChunks: 0 })
    const thread = await newThread('hello')
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistantId })
    const events: string[] = []
    for await (const event of stream) events.push(event.event)
    const messages = await stream.finalMessages()
    expect(messages).toHaveLength(1)
    expect(textOf(messages[0]!)).toBe('Echo: hello [context: 1 messages]')
    expect(events.at(-1)).toBe('thread.run.completed')
    expect(events.filter((e) => e === 'thread.message.created')).toHaveLength(1)
    const run = await stream.finalRun()
    expect(run.status).toBe('completed')
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(3)
  })

  it('every attempt cut: the run fails with server_error once the attempts are spent, and no reply is stored', async () => {
    stack.upstream.respond(() => ({ kind: 'cut' }))
    const thread = await newThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId }), 30_000)
    expect(run.status).toBe('failed')
    expect(run.last_error).toEqual({ code: 'server_error', message: expect.stringMatching(/model's stream ended early/) })
    expect(await assistantReplies(thread.id)).toHaveLength(0)
  })
})

describe('a provider route marked omitsFinishReason', () => {
  it('keeps the old behaviour: the stream’s end is the reply’s end', async () => {
    stack.upstream.respondOnce({ kind: 'cut', afterChunks: 3, text: 'Short but whole.' })
    const assistant = await stack.assistant({ model: LENIENT })
    const thread = await newThread()
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 50 })
    expect(run).toMatchObject({ status: 'completed', last_error: null, model: LENIENT })
    const replies = await assistantReplies(thread.id)
    expect(replies.map((m) => [m.status, textOf(m)])).toEqual([['completed', 'Short but whole.']])
  })
})
