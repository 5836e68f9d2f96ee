/**
 * Issue 12 item 1: the context window. Each model has its own window (provider route
 * `contextWindowTokens` / per-model `contextWindows`, else CONTEXT_WINDOW_TOKENS); `auto` truncation
 * fits the thread into it and the run completes; `max_prompt_tokens` is the incomplete reason only
 * when the caller's own budget is exceeded; a provider's context-length error leads to a tighter
 * truncation and one retry; a prompt that cannot fit even truncated ends `failed` with
 * `invalid_prompt` naming the window.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeUpstream } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf, words } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let dir: string

/** Windows the route gives its two models; a 100-word message of the test text is about 400 tokens. */
const SMALL = 1200
const BIG = 6000

beforeAll(async () => {
  const upstream = await startFakeUpstream()
  const routes = [
    {
      name: 'windows',
      match: 'window-*',
      baseURL: upstream.baseURL,
      models: ['window-small', 'window-big'],
      contextWindowTokens: BIG,
      contextWindows: { 'window-small': SMALL },
    },
  ]
  dir = await mkdtemp(join(tmpdir(), 'threadwork-window-'))
  await writeFile(join(dir, 'providers.json'), JSON.stringify(routes))
  stack = await startRunStack({ upstream, api: { providerRoutes: routes }, worker: { PROVIDERS_FILE: join(dir, 'providers.json') } })
  client = stack.client
})
afterAll(async () => {
  await stack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})
beforeEach(() => stack.upstream.reset())

/** A thread of `n` user messages of 100 words each ("m1w0 m1w1 …", "m2w0 …", …). */
async function longThread(n = 8) {
  const messages = Array.from({ length: n }, (_, i) => ({ role: 'user' as const, content: words(100, `m${i + 1}w`) }))
  return client.beta.threads.create({ messages })
}

const firstWordOf = (content: unknown) => (typeof content === 'string' ? content.split(' ')[0] : null)

describe('auto truncation fits the thread into the model’s own window', () => {
  it('a thread larger than the window completes, truncated in the middle (not incomplete, no max_prompt_tokens set)', async () => {
    const assistant = await stack.assistant({ model: 'window-small' })
    const thread = await longThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }))
    expect(run).toMatchObject({ status: 'completed', incomplete_details: null, last_error: null })
    const sent = stack.upstream.requests.find((r) => r.runId === run.id)!.body.messages
    // The first message (the task) and the latest are kept; the middle is dropped to fit 1,200 tokens.
    expect(sent.length).toBeGreaterThanOrEqual(2)
    expect(sent.length).toBeLessThan(8)
    expect(firstWordOf(sent[0]!.content)).toBe('m1w0')
    expect(firstWordOf(sent.at(-1)!.content)).toBe('m8w0')
    const [reply] = (await client.beta.threads.messages.list(thread.id)).data
    expect(textOf(reply!)).toMatch(new RegExp(`\\[context: ${sent.length} messages\\]$`))
  })

  it('the same thread fits a model with a larger window whole (per-model windows on one route)', async () => {
    const assistant = await stack.assistant({ model: 'window-big' })
    const thread = await longThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }))
    expect(run.status).toBe('completed')
    expect(stack.upstream.requests.find((r) => r.runId === run.id)!.body.messages).toHaveLength(8)
  })

  it('a max_prompt_tokens above the window still truncates to the window and completes', async () => {
    const assistant = await stack.assistant({ model: 'window-small' })
    const thread = await longThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, max_prompt_tokens: 50_000 }))
    expect(run).toMatchObject({ status: 'completed', incomplete_details: null })
    expect(stack.upstream.requests.find((r) => r.runId === run.id)!.body.messages.length).toBeLessThan(8)
  })

  it('max_prompt_tokens is the incomplete reason when the caller’s own budget is exceeded', async () => {
    const assistant = await stack.assistant({ model: 'window-big' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: words(200) }] })
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, max_prompt_tokens: 256 }))
    expect(run).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_prompt_tokens' }, last_error: null })
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(0)
  })
})

describe('a prompt that cannot fit even truncated', () => {
  it('one message bigger than the window → failed, invalid_prompt naming the window, the model never called', async () => {
    const assistant = await stack.assistant({ model: 'window-small' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: words(1500) }] })
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }))
    expect(run.status).toBe('failed')
    expect(run.incomplete_details).toBeNull()
    expect(run.last_error).toEqual({ code: 'invalid_prompt', message: expect.stringContaining(`${SMALL}-token context window of model 'window-small'`) })
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(0)
    // The thread is free again: a smaller message runs.
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'short' })
  })

  it('streamed: the SDK sees thread.run.failed with the same last_error', async () => {
    const assistant = await stack.assistant({ model: 'window-small' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: words(1500) }] })
    const events: string[] = []
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id })
    for await (const e of stream) events.push(e.event)
    expect(events.at(-1)).toBe('thread.run.failed')
    expect((await stream.finalRun()).last_error).toMatchObject({ code: 'invalid_prompt' })
  })
})

describe('the provider’s context-length error', () => {
  const tooLong = {
    kind: 'error',
    status: 400,
    body: {
      error: {
        message: "This model's maximum context length is 1000 tokens. However, your messages resulted in 1700 tokens. Please reduce the length of the messages.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    },
  } as const

  it('leads to a tighter truncation and one retry, and the run completes', async () => {
    stack.upstream.respondOnce(tooLong)
    const assistant = await stack.assistant()
    const thread = await longThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }))
    expect(run).toMatchObject({ status: 'completed', last_error: null })
    const [first, second] = stack.upstream.requests.filter((r) => r.runId === run.id)
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(2)
    expect(first!.body.messages).toHaveLength(8)
    // Within the 1,000 tokens the provider named (less a reply reserve): the latest message, at least.
    expect(second!.body.messages.length).toBeLessThan(3)
    expect(firstWordOf(second!.body.messages.at(-1)!.content)).toBe('m8w0')
  })

  it('refused again after truncation → failed, invalid_prompt naming the window the provider gave', async () => {
    stack.upstream.respondOnce(tooLong, tooLong)
    const assistant = await stack.assistant()
    const thread = await longThread()
    const run = await settled(client, await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }))
    expect(run.status).toBe('failed')
    expect(run.last_error).toEqual({ code: 'invalid_prompt', message: expect.stringContaining("1000-token context window of model 'fake-model'") })
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(2)
  })
})
