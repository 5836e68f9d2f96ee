import OpenAI from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { startFakeUpstream } from './fake-upstream.js'
import type { FakeUpstream } from './fake-upstream-types.js'

let upstream: FakeUpstream
let client: OpenAI

beforeAll(async () => {
  upstream = await startFakeUpstream()
  client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 })
})
afterAll(() => upstream.close())
beforeEach(() => upstream.reset())

const model = 'fake-model'
const user = (content: string) => ({ role: 'user' as const, content })

/** Streams a request and returns every raw chunk the SDK parsed (no accumulation). */
async function rawChunks(
  params: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, 'stream'>,
): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) chunks.push(chunk)
  return chunks
}
const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')

describe('text replies', () => {
  it('echoes the last user message and the context size by default, with usage', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'be brief' },
        user('first'),
        { role: 'assistant', content: 'Echo: first' },
        user('second'),
      ],
    })
    expect(completion.id).toMatch(/^chatcmpl-/)
    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe(model)
    expect(completion.choices[0]?.message).toMatchObject({
      role: 'assistant',
      content: 'Echo: second [context: 3 messages]',
    })
    expect(completion.choices[0]?.finish_reason).toBe('stop')
    // 1 word = 1 token: prompt "be brief" + "first" + "Echo: first" + "second" = 6; reply = 5 words.
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 })
  })

  it('streams word by word in OpenAI framing, with the usage chunk when include_usage is set', async () => {
    upstream.respondOnce({ kind: 'text', text: 'Hello there, friend.' })
    const chunks = await rawChunks({ model, messages: [user('hi')], stream_options: { include_usage: true } })
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true)
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null })
    expect(chunks.slice(1, 4).map((c) => c.choices[0]?.delta.content)).toEqual(['Hello ', 'there, ', 'friend.'])
    expect(chunks[4]?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' })
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } })
    expect(chunks).toHaveLength(6)
    expect(chunks.slice(0, 5).every((c) => c.usage === null)).toBe(true)
  })

  it('sends no usage chunk without include_usage, and groups words by chunkSize', async () => {
    upstream.respondOnce({ kind: 'text', text: 'a b c d e', chunkSize: 2 })
    const chunks = await rawChunks({ model, messages: [user('hi')] })
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'a b ', 'c d ', 'e', undefined])
    expect(chunks.some((c) => 'usage' in c)).toBe(false)
  })

  it("reports no usage at all with usage: 'none'", async () => {
    upstream.respond(() => ({ kind: 'text', text: 'quiet', usage: 'none' }))
    const completion = await client.chat.completions.create({ model, messages: [user('hi')] })
    expect(completion.usage).toBeUndefined()
    const chunks = await rawChunks({ model, messages: [user('hi')], stream_options: { include_usage: true } })
    expect(chunks.some((c) => 'usage' in c)).toBe(false)
    expect(contentOf(chunks)).toBe('quiet')
  })

  it('reports scripted usage verbatim', async () => {
    upstream.respondOnce({ kind: 'text', text: 'x', usage: { prompt_tokens: 100, completion_tokens: 7 } })
    const completion = await client.chat.completions.create({ model, messages: [user('hi')] })
    expect(completion.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 })
  })

  it('cuts the reply at max_tokens / max_completion_tokens with finish_reason length', async () => {
    upstream.respond(() => ({ kind: 'text', text: 'one two three four five' }))
    const cut = await client.chat.completions.create({ model, messages: [user('hi')], max_tokens: 3 })
    expect(cut.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'one two three ' } })
    expect(cut.usage?.completion_tokens).toBe(3)

    const stream = client.chat.completions.stream({ model, messages: [user('hi')], max_completion_tokens: 2 })
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'one two ' } })

    const whole = await client.chat.completions.create({ model, messages: [user('hi')], max_tokens: 5 })
    expect(whole.choices[0]?.finish_reason).toBe('stop')
  })

  it('records the time of the first chunk after firstTokenDelayMs', async () => {
    upstream.respondOnce({ kind: 'text', text: 'slow start', firstTokenDelayMs: 150, interChunkDelayMs: 10 })
    await rawChunks({ model, messages: [user('hi')] })
    const [rec] = upstream.requests
    expect(rec?.outcome).toBe('completed')
    expect((rec?.firstChunkAt ?? 0) - (rec?.startedAt ?? 0)).toBeGreaterThanOrEqual(140)
    expect(rec?.endedAt).toBeGreaterThanOrEqual(rec?.firstChunkAt ?? Number.POSITIVE_INFINITY)
  })
})

describe('failures', () => {
  it('maps error statuses to the SDK error classes, with OpenAI bodies and headers', async () => {
    upstream.respondOnce(
      { kind: 'error', status: 429, headers: { 'retry-after': '2' } },
      { kind: 'error', status: 500 },
    )
    const limited = await client.chat.completions.create({ model, messages: [user('x')] }).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
    const err = limited as InstanceType<typeof OpenAI.RateLimitError>
    expect(err.headers.get('retry-after')).toBe('2')
    expect(err.code).toBe('rate_limit_exceeded')
    expect(err.requestID).toMatch(/^req_/)
    await expect(client.chat.completions.create({ model, messages: [user('x')], stream: true })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    )
    expect(upstream.requests.map((r) => r.outcome)).toEqual(['error', 'error'])
  })

  it('sends a custom error body as given', async () => {
    upstream.respondOnce({
      kind: 'error',
      status: 400,
      body: { error: { message: 'bad tools', type: 'invalid_request_error', param: 'tools', code: null } },
    })
    const err = await client.chat.completions.create({ model, messages: [user('x')] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools')
  })

  it('answers a 500 naming the error when the handler throws', async () => {
    upstream.respond(() => {
      throw new Error('script bug')
    })
    const err = await client.chat.completions.create({ model, messages: [user('x')] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.InternalServerError)
    expect(String(err)).toContain('script bug')
    expect(upstream.requests[0]?.handlerError).toBe('script bug')
  })

  it('hangs until the client aborts, and records the abort', async () => {
    upstream.respondOnce({ kind: 'hang' })
    const controller = new AbortController()
    const pending = client.chat.completions.create(
      { model, messages: [user('x')], stream: true },
      { signal: controller.signal },
    )
    const [rec] = await upstream.waitForRequests(1)
    expect(upstream.inFlight).toBe(1)
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await vi.waitFor(() =>
      expect(rec).toMatchObject({ aborted: true, outcome: 'aborted', endedAt: expect.any(Number) }),
    )
    expect(upstream.inFlight).toBe(0)
  })

  it('stalls mid-stream with hang afterChunks', async () => {
    upstream.respondOnce({ kind: 'hang', afterChunks: 2, text: 'one two three' })
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model, messages: [user('x')], stream: true },
      { signal: controller.signal },
    )
    const seen: string[] = []
    const reading = (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '')
    })()
    await vi.waitFor(() => expect(seen).toEqual(['', 'one ', 'two ']), { timeout: 20_000 })
    controller.abort()
    await reading.catch(() => undefined)
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true), { timeout: 20_000 })
  })

  it('resets the connection: APIConnectionError before any byte', async () => {
    upstream.respondOnce({ kind: 'reset' }, { kind: 'reset', afterChunks: 5 })
    await expect(client.chat.completions.create({ model, messages: [user('x')] })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError,
    )
    // afterChunks only applies to streams: a non-stream request is reset before any byte too.
    await expect(client.chat.completions.create({ model, messages: [user('x')] })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError,
    )
    expect(upstream.requests.map((r) => [r.outcome, r.aborted])).toEqual([
      ['reset', false],
      ['reset', false],
    ])
  })

  it('resets mid-stream after some chunks', async () => {
    upstream.respondOnce({ kind: 'reset', afterChunks: 2, text: 'one two three four' })
    const seen: string[] = []
    const reading = (async () => {
      for await (const chunk of await client.chat.completions.create({ model, messages: [user('x')], stream: true })) {
        seen.push(chunk.choices[0]?.delta.content ?? '')
      }
    })()
    // The SDK passes undici's "terminated" TypeError through; it is not an APIConnectionError.
    await expect(reading).rejects.toThrow(/terminated/)
    expect(seen).toEqual(['', 'one ', 'two '])
    expect(upstream.requests[0]?.outcome).toBe('reset')
  })
})

describe('cut streams (no finish_reason, no [DONE])', () => {
  it('ends the stream cleanly after some chunks, or right after the headers', async () => {
    upstream.respondOnce({ kind: 'cut', afterChunks: 2, text: 'one two three four' }, { kind: 'cut' })
    const read = async () => {
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = []
      for await (const chunk of await client.chat.completions.create({ model, messages: [user('x')], stream: true })) chunks.push(chunk)
      return chunks
    }
    const cut = await read()
    expect(cut.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'one ', 'two '])
    expect(cut.every((c) => c.choices[0]?.finish_reason === null)).toBe(true)
    expect(await read()).toEqual([])
    expect(upstream.requests.map((r) => r.outcome)).toEqual(['completed', 'completed'])
  })
})

describe('recording', () => {
  it('records thread and run ids and detects same-thread overlaps', async () => {
    upstream.respond(() => ({ kind: 'text', text: 'slow', firstTokenDelayMs: 200 }))
    const ask = (thread: string, run: string) =>
      client.chat.completions.create(
        { model, messages: [user(run)] },
        { headers: { 'x-threadwork-thread': thread, 'x-threadwork-run': run } },
      )
    await Promise.all([ask('thread_a', 'run_1'), ask('thread_a', 'run_2'), ask('thread_b', 'run_3')])
    expect(upstream.requests.map((r) => [r.threadId, r.runId]).sort()).toEqual([
      ['thread_a', 'run_1'],
      ['thread_a', 'run_2'],
      ['thread_b', 'run_3'],
    ])
    expect(upstream.overlaps).toHaveLength(1)
    expect(upstream.overlaps[0]?.threadId).toBe('thread_a')
    expect(new Set([upstream.overlaps[0]?.a.runId, upstream.overlaps[0]?.b.runId])).toEqual(new Set(['run_1', 'run_2']))
    expect(upstream.maxInFlightPerThread).toBe(2)
    expect(upstream.maxInFlight).toBe(3)
    expect(upstream.inFlight).toBe(0)

    // Sequential requests of one thread never overlap.
    upstream.reset()
    upstream.respond(() => ({ kind: 'text', text: 'quick' }))
    await ask('thread_a', 'run_4')
    await ask('thread_a', 'run_5')
    expect(upstream.overlaps).toEqual([])
    expect(upstream.maxInFlightPerThread).toBe(1)
  })

  it('consumes one-shot replies in order before the handler, and reset clears scripts', async () => {
    upstream.respond(() => ({ kind: 'text', text: 'handler' }))
    upstream.respondOnce({ kind: 'text', text: 'one' }, (req) => ({ kind: 'text', text: `two after ${req.seq}` }))
    const texts: (string | null | undefined)[] = []
    for (let i = 0; i < 3; i++)
      texts.push((await client.chat.completions.create({ model, messages: [user('x')] })).choices[0]?.message.content)
    expect(texts).toEqual(['one', 'two after 1', 'handler'])
    upstream.respondOnce({ kind: 'text', text: 'unused' })
    upstream.reset()
    expect(upstream.requests).toEqual([])
    const after = await client.chat.completions.create({ model, messages: [user('x')] })
    expect(after.choices[0]?.message.content).toBe('Echo: x [context: 1 messages]')
  })

  it('waitForRequests resolves on arrival and rejects on timeout', async () => {
    upstream.respond(() => ({ kind: 'text', text: 'ok', firstTokenDelayMs: 50 }))
    const waiting = upstream.waitForRequests(2)
    await Promise.all([1, 2].map(() => client.chat.completions.create({ model, messages: [user('x')] })))
    expect(await waiting).toHaveLength(2)
    await expect(upstream.waitForRequests(3, 50)).rejects.toThrow(/expected 3 requests within 50 ms, got 2/)
  })

  it('holds many concurrent streams', async () => {
    // Each reply waits until all 300 requests are in, so all are in flight at once.
    upstream.respond(async () => {
      await upstream.waitForRequests(300, 20_000)
      return { kind: 'text', text: 'a b c d', interChunkDelayMs: 20 }
    })
    const texts = await Promise.all(
      Array.from({ length: 300 }, async () => contentOf(await rawChunks({ model, messages: [user('x')] }))),
    )
    expect(texts.every((t) => t === 'a b c d')).toBe(true)
    expect(upstream.maxInFlight).toBe(300)
  })

  it('rejects a body without messages as OpenAI does', async () => {
    const err = await client.chat.completions
      .create({ model } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages')
  })
})

describe('models and routing', () => {
  it('lists and retrieves models, 404 for unknown ones and unknown routes', async () => {
    const ids: string[] = []
    for await (const m of client.models.list()) ids.push(m.id)
    expect(ids).toEqual(['fake-model', 'gpt-4o-mini'])
    expect(await client.models.retrieve('gpt-4o-mini')).toMatchObject({
      id: 'gpt-4o-mini',
      object: 'model',
      owned_by: expect.any(String),
    })
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.moderations.create({ input: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('serves a configured model list', async () => {
    const custom = await startFakeUpstream({ models: ['llama3.1:8b'] })
    try {
      const other = new OpenAI({ baseURL: custom.baseURL, apiKey: 'x', maxRetries: 0 })
      expect((await other.models.list()).data.map((m) => m.id)).toEqual(['llama3.1:8b'])
      expect((await other.models.retrieve('llama3.1:8b')).id).toBe('llama3.1:8b')
    } finally {
      await custom.close()
    }
  })
})
