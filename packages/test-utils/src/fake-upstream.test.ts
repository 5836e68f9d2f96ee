import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions'
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
const weather: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}
const clock: ChatCompletionTool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } }

/** Streams a request and returns every raw chunk the SDK parsed (no accumulation). */
async function rawChunks(params: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, 'stream'>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) chunks.push(chunk)
  return chunks
}
const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
/** Tool-call deltas as sent, loosely typed because the quirky styles break the SDK's types. */
const toolDeltas = (chunk: ChatCompletionChunk | undefined) => (chunk?.choices[0]?.delta.tool_calls ?? []) as unknown as Record<string, unknown>[]

describe('text replies', () => {
  it('echoes the last user message and the context size by default, with usage', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'be brief' }, user('first'), { role: 'assistant', content: 'Echo: first' }, user('second')],
    })
    expect(completion.id).toMatch(/^chatcmpl-/)
    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe(model)
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: second [context: 3 messages]' })
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

describe('tool calls', () => {
  const calls = [
    { name: 'get_weather', arguments: '{"city":"Paris"}' },
    { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
  ]

  it('streams OpenAI-shaped tool-call deltas that the SDK assembles', async () => {
    upstream.respondOnce({ kind: 'tool_calls', text: 'Let me check.', calls })
    const chunks = await rawChunks({ model, messages: [user('weather?')], tools: [weather, clock] })
    const deltas = chunks.flatMap((c) => toolDeltas(c))
    expect(deltas[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_\w{24}$/), type: 'function', function: { name: 'get_weather', arguments: '' } })
    expect(deltas[1]).toEqual({ index: 0, function: { arguments: '{"' } })
    expect(contentOf(chunks)).toBe('Let me check.')
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls')

    upstream.respondOnce({ kind: 'tool_calls', calls })
    const final = await client.chat.completions.stream({ model, messages: [user('weather?')], tools: [weather, clock] }).finalChatCompletion()
    const message = final.choices[0]?.message
    expect(final.choices[0]?.finish_reason).toBe('tool_calls')
    expect(message?.content).toBeNull()
    expect(message?.tool_calls?.map((c) => (c.type === 'function' ? [c.function.name, c.function.arguments] : []))).toEqual(
      calls.map((c) => [c.name, c.arguments]),
    )
    expect(new Set(message?.tool_calls?.map((c) => c.id)).size).toBe(2)
  })

  it('returns assembled calls without streaming', async () => {
    upstream.respondOnce({ kind: 'tool_calls', calls })
    const completion = await client.chat.completions.create({ model, messages: [user('weather?')], tools: [weather, clock] })
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls')
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), type: 'function', function: calls[0] },
      { id: expect.stringMatching(/^call_/), type: 'function', function: calls[1] },
    ])
  })

  it('drops calls without tools or with tool_choice none, and keeps one with parallel_tool_calls false', async () => {
    upstream.respond(() => ({ kind: 'tool_calls', text: 'Sure.', calls }))
    const noTools = await client.chat.completions.create({ model, messages: [user('x')] })
    expect(noTools.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Sure.' } })
    const none = await client.chat.completions.create({ model, messages: [user('x')], tools: [weather], tool_choice: 'none' })
    expect(none.choices[0]?.message.tool_calls).toBeUndefined()
    const single = await client.chat.completions.create({ model, messages: [user('x')], tools: [weather, clock], parallel_tool_calls: false })
    expect(single.choices[0]?.message.tool_calls).toHaveLength(1)
  })

  it('calls the forced tool by default', async () => {
    const required = await client.chat.completions.create({ model, messages: [user('x')], tools: [weather, clock], tool_choice: 'required' })
    expect(required.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{}' } })
    const named = await client.chat.completions.create({
      model,
      messages: [user('x')],
      tools: [weather, clock],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    })
    expect(named.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_time' } })
    expect(upstream.requests[1]?.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } })
  })

  describe('quirky styles emit what their TSDoc says', () => {
    const three = [...calls, { name: 'get_weather', arguments: '{"city":"Oslo"}' }]
    const tools = [weather, clock]

    it('ollama: each call whole in one delta, index 0 or missing, finish_reason stop', async () => {
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'ollama', calls: three })
      const chunks = await rawChunks({ model, messages: [user('x')], tools })
      expect(chunks).toHaveLength(4)
      const deltas = chunks.slice(0, 3).map((c) => {
        expect(c.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' })
        expect(toolDeltas(c)).toHaveLength(1)
        return toolDeltas(c)[0]
      })
      expect(deltas.map((d) => d?.index)).toEqual([0, undefined, 0])
      expect('index' in (deltas[1] ?? {})).toBe(false)
      expect(deltas.map((d) => d?.function)).toEqual(three)
      expect(new Set(deltas.map((d) => d?.id)).size).toBe(3)
      expect(chunks[3]?.choices[0]).toMatchObject({ delta: { role: 'assistant', content: '' }, finish_reason: 'stop' })
    })

    it('vllm: id and name only first, arguments null on even calls, 3-character pieces', async () => {
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'vllm', calls })
      const chunks = await rawChunks({ model, messages: [user('x')], tools })
      expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' })
      const deltas = chunks.flatMap((c) => toolDeltas(c))
      const firstOf = (k: number) => deltas.find((d) => d.index === k)
      expect(firstOf(0)).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: null } })
      expect(firstOf(1)).toEqual({ index: 1, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_time', arguments: '{"t' } })
      const rest = deltas.filter((d) => !('id' in d))
      expect(rest.every((d) => Object.keys(d).join() === 'index,function' && Object.keys(d.function as object).join() === 'arguments')).toBe(true)
      expect(rest.filter((d) => d.index === 0).map((d) => (d.function as { arguments: string }).arguments)).toEqual(['{"c', 'ity', '":"', 'Par', 'is"', '}'])
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls')
    })

    it('llamacpp: rounds of fragments, every call interleaved in descending index order', async () => {
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'llamacpp', calls: three })
      const chunks = await rawChunks({ model, messages: [user('x')], tools })
      expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: null })
      const headers = toolDeltas(chunks[1])
      expect(headers.map((d) => d.index)).toEqual([2, 1, 0])
      expect(headers.map((d) => (d.function as { name: string }).name)).toEqual(['get_weather', 'get_time', 'get_weather'])
      expect(toolDeltas(chunks[2])).toEqual([
        { index: 2, function: { arguments: '{"' } },
        { index: 1, function: { arguments: '{"' } },
        { index: 0, function: { arguments: '{"' } },
      ])
      // get_time's arguments have more fragments, so it is alone in the last rounds.
      expect(toolDeltas(chunks.at(-2)).map((d) => d.index)).toEqual([1])
      // The SDK's index-keyed accumulator copes with this one.
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'llamacpp', calls: three })
      const final = await client.chat.completions.stream({ model, messages: [user('x')], tools }).finalChatCompletion()
      expect(final.choices[0]?.message.tool_calls?.map((c) => c.type === 'function' && c.function)).toEqual(three)
    })

    it('non-stream requests get the clean OpenAI message', async () => {
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'ollama', calls })
      const completion = await client.chat.completions.create({ model, messages: [user('x')], tools })
      expect(completion.choices[0]?.finish_reason).toBe('tool_calls')
      expect(completion.choices[0]?.message.tool_calls?.map((c) => c.type === 'function' && c.function)).toEqual(calls)
    })
  })
})

describe('failures', () => {
  it('maps error statuses to the SDK error classes, with OpenAI bodies and headers', async () => {
    upstream.respondOnce({ kind: 'error', status: 429, headers: { 'retry-after': '2' } }, { kind: 'error', status: 500 })
    const limited = await client.chat.completions.create({ model, messages: [user('x')] }).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
    const err = limited as InstanceType<typeof OpenAI.RateLimitError>
    expect(err.headers.get('retry-after')).toBe('2')
    expect(err.code).toBe('rate_limit_exceeded')
    expect(err.requestID).toMatch(/^req_/)
    await expect(client.chat.completions.create({ model, messages: [user('x')], stream: true })).rejects.toBeInstanceOf(OpenAI.InternalServerError)
    expect(upstream.requests.map((r) => r.outcome)).toEqual(['error', 'error'])
  })

  it('sends a custom error body as given', async () => {
    upstream.respondOnce({ kind: 'error', status: 400, body: { error: { message: 'bad tools', type: 'invalid_request_error', param: 'tools', code: null } } })
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
    const pending = client.chat.completions.create({ model, messages: [user('x')], stream: true }, { signal: controller.signal })
    const [rec] = await upstream.waitForRequests(1)
    expect(upstream.inFlight).toBe(1)
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await vi.waitFor(() => expect(rec).toMatchObject({ aborted: true, outcome: 'aborted', endedAt: expect.any(Number) }))
    expect(upstream.inFlight).toBe(0)
  })

  it('stalls mid-stream with hang afterChunks', async () => {
    upstream.respondOnce({ kind: 'hang', afterChunks: 2, text: 'one two three' })
    const controller = new AbortController()
    const stream = await client.chat.completions.create({ model, messages: [user('x')], stream: true }, { signal: controller.signal })
    const seen: string[] = []
    const reading = (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '')
    })()
    await vi.waitFor(() => expect(seen).toEqual(['', 'one ', 'two ']))
    controller.abort()
    await reading.catch(() => undefined)
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true))
  })

  it('resets the connection: APIConnectionError before any byte', async () => {
    upstream.respondOnce({ kind: 'reset' }, { kind: 'reset', afterChunks: 5 })
    await expect(client.chat.completions.create({ model, messages: [user('x')] })).rejects.toBeInstanceOf(OpenAI.APIConnectionError)
    // afterChunks only applies to streams: a non-stream request is reset before any byte too.
    await expect(client.chat.completions.create({ model, messages: [user('x')] })).rejects.toBeInstanceOf(OpenAI.APIConnectionError)
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

describe('recording', () => {
  it('records thread and run ids and detects same-thread overlaps', async () => {
    upstream.respond(() => ({ kind: 'text', text: 'slow', firstTokenDelayMs: 200 }))
    const ask = (thread: string, run: string) =>
      client.chat.completions.create({ model, messages: [user(run)] }, { headers: { 'x-threadwork-thread': thread, 'x-threadwork-run': run } })
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
    for (let i = 0; i < 3; i++) texts.push((await client.chat.completions.create({ model, messages: [user('x')] })).choices[0]?.message.content)
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
    const err = await client.chat.completions.create({ model } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages')
  })
})

describe('models and routing', () => {
  it('lists and retrieves models, 404 for unknown ones and unknown routes', async () => {
    const ids: string[] = []
    for await (const m of client.models.list()) ids.push(m.id)
    expect(ids).toEqual(['fake-model', 'gpt-4o-mini'])
    expect(await client.models.retrieve('gpt-4o-mini')).toMatchObject({ id: 'gpt-4o-mini', object: 'model', owned_by: expect.any(String) })
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client.embeddings.create({ model, input: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
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
