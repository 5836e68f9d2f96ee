import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startFakeUpstream } from './fake-upstream.js'
import { wordTokens } from './fake-upstream-plan.js'
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
async function rawChunks(
  params: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, 'stream'>,
): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) chunks.push(chunk)
  return chunks
}
const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
/** Tool-call deltas as sent, loosely typed because the quirky styles break the SDK's types. */
const toolDeltas = (chunk: ChatCompletionChunk | undefined) =>
  (chunk?.choices[0]?.delta.tool_calls ?? []) as unknown as Record<string, unknown>[]

describe('tool calls', () => {
  const calls = [
    { name: 'get_weather', arguments: '{"city":"Paris"}' },
    { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
  ]

  it('streams OpenAI-shaped tool-call deltas that the SDK assembles', async () => {
    upstream.respondOnce({ kind: 'tool_calls', text: 'Let me check.', calls })
    const chunks = await rawChunks({ model, messages: [user('weather?')], tools: [weather, clock] })
    const deltas = chunks.flatMap((c) => toolDeltas(c))
    expect(deltas[0]).toEqual({
      index: 0,
      id: expect.stringMatching(/^call_\w{24}$/),
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    })
    expect(deltas[1]).toEqual({ index: 0, function: { arguments: '{"' } })
    expect(contentOf(chunks)).toBe('Let me check.')
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls')

    upstream.respondOnce({ kind: 'tool_calls', calls })
    const final = await client.chat.completions
      .stream({ model, messages: [user('weather?')], tools: [weather, clock] })
      .finalChatCompletion()
    const message = final.choices[0]?.message
    expect(final.choices[0]?.finish_reason).toBe('tool_calls')
    expect(message?.content).toBeNull()
    expect(
      message?.tool_calls?.map((c) => (c.type === 'function' ? [c.function.name, c.function.arguments] : [])),
    ).toEqual(calls.map((c) => [c.name, c.arguments]))
    expect(new Set(message?.tool_calls?.map((c) => c.id)).size).toBe(2)
  })

  it('returns assembled calls without streaming', async () => {
    upstream.respondOnce({ kind: 'tool_calls', calls })
    const completion = await client.chat.completions.create({
      model,
      messages: [user('weather?')],
      tools: [weather, clock],
    })
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
    const none = await client.chat.completions.create({
      model,
      messages: [user('x')],
      tools: [weather],
      tool_choice: 'none',
    })
    expect(none.choices[0]?.message.tool_calls).toBeUndefined()
    const single = await client.chat.completions.create({
      model,
      messages: [user('x')],
      tools: [weather, clock],
      parallel_tool_calls: false,
    })
    expect(single.choices[0]?.message.tool_calls).toHaveLength(1)
  })

  it('calls the forced tool by default', async () => {
    const required = await client.chat.completions.create({
      model,
      messages: [user('x')],
      tools: [weather, clock],
      tool_choice: 'required',
    })
    expect(required.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      function: { name: 'get_weather', arguments: '{}' },
    })
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
      expect(firstOf(0)).toEqual({
        index: 0,
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'get_weather', arguments: null },
      })
      expect(firstOf(1)).toEqual({
        index: 1,
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'get_time', arguments: '{"t' },
      })
      const rest = deltas.filter((d) => !('id' in d))
      expect(
        rest.every(
          (d) => Object.keys(d).join() === 'index,function' && Object.keys(d.function as object).join() === 'arguments',
        ),
      ).toBe(true)
      expect(rest.filter((d) => d.index === 0).map((d) => (d.function as { arguments: string }).arguments)).toEqual([
        '{"c',
        'ity',
        '":"',
        'Par',
        'is"',
        '}',
      ])
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls')
    })

    it('llamacpp: rounds of fragments, every call interleaved in descending index order', async () => {
      upstream.respondOnce({ kind: 'quirky_tool_calls', style: 'llamacpp', calls: three })
      const chunks = await rawChunks({ model, messages: [user('x')], tools })
      expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: null })
      const headers = toolDeltas(chunks[1])
      expect(headers.map((d) => d.index)).toEqual([2, 1, 0])
      expect(headers.map((d) => (d.function as { name: string }).name)).toEqual([
        'get_weather',
        'get_time',
        'get_weather',
      ])
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

describe('wordTokens', () => {
  it('splits into words that concatenate back to the text, whitespace included', () => {
    expect(wordTokens('  Hello,  big\nworld ')).toEqual(['  Hello,  ', 'big\n', 'world '])
    expect(wordTokens('')).toEqual([])
    for (const text of ['a', ' a b  ', '\n\n', 'x\ty\u00a0z']) expect(wordTokens(text).join('')).toBe(text)
  })
})
