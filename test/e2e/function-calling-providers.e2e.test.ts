/**
 * Providers that stream tool calls differently from OpenAI (fake upstream `quirky_tool_calls`:
 * Ollama's whole calls all at index 0 with `finish_reason: stop`, vLLM's null first arguments and
 * mid-token pieces, llama.cpp's interleaved, reversed fragments) end the same way for the client:
 * the exact calls in `required_action`, and step deltas the SDK accumulates into those calls.
 */
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack } from './runs-support.js'
import { ORDER, postStream, readSse, shape } from './streaming-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

const calls = [
  { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
  { name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
  { name: 'get_weather', arguments: '{"city":"Tokyo"}' },
]

beforeAll(async () => {
  stack = await startRunStack()
  client = stack.client
  const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties: {} } } })
  assistantId = (await stack.assistant({ tools: [tool('get_weather'), tool('get_time')] })).id
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

describe.each(['ollama', 'vllm', 'llamacpp'] as const)('%s-style tool call streams', (style) => {
  it('yield the exact calls in required_action and coherent step deltas', async () => {
    stack.upstream.respondOnce({ kind: 'quirky_tool_calls', style, calls })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'three calls' }] })
    const events = await readSse(await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }))
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.toolRound, 'done'])

    const run = events.find((e) => e.event === 'thread.run.requires_action')!.data as OpenAI.Beta.Threads.Run
    const required = run.required_action!.submit_tool_outputs.tool_calls
    expect(required.map((c) => ({ name: c.function.name, arguments: c.function.arguments }))).toEqual(calls)
    expect(required.every((c) => /^call_[A-Za-z0-9]+$/.test(c.id) && c.type === 'function')).toBe(true)
    expect(new Set(required.map((c) => c.id)).size).toBe(3)

    // Deltas: dense indexes 0..2, one header (id + name, output null) per call, then argument
    // fragments that concatenate to the call's arguments.
    const deltas = events.filter((e) => e.event === 'thread.run.step.delta').flatMap((e) => e.data.delta.step_details.tool_calls)
    for (const [index, call] of required.entries()) {
      const mine = deltas.filter((d) => d.index === index)
      const headers = mine.filter((d) => d.id !== undefined)
      expect(headers).toEqual([{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: expect.any(String), output: null } }])
      expect(mine.indexOf(headers[0])).toBe(0)
      expect(mine.map((d) => d.function.arguments).join('')).toBe(call.function.arguments)
    }
    // One call after another, as OpenAI streams them (the SDK announces a call on every index change).
    const order = deltas.map((d) => d.index)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(new Set(order)).toEqual(new Set([0, 1, 2]))

    // The stored step and the SDK's accumulation agree with required_action.
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })
    expect(steps.data[0]!.step_details).toMatchObject({
      type: 'tool_calls',
      tool_calls: required.map((c) => ({ id: c.id, function: { ...c.function, output: null } })),
    })
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
  })

  it('through the SDK helper: toolCallCreated per call, finalRun() with the calls', async () => {
    stack.upstream.respondOnce({ kind: 'quirky_tool_calls', style, calls })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'three calls' }] })
    const created: string[] = []
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistantId }).on('toolCallCreated', (c) => {
      if (c.type === 'function') created.push(c.function.name)
    })
    const run = await stream.finalRun()
    expect(created).toEqual(calls.map((c) => c.name))
    const step = (await stream.finalRunSteps()).find((s) => s.type === 'tool_calls')!
    const accumulated = step.step_details.type === 'tool_calls' ? step.step_details.tool_calls : []
    expect(accumulated.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : null))).toEqual(
      run.required_action!.submit_tool_outputs.tool_calls.map((c) => [c.id, c.function.name, c.function.arguments]),
    )
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
  })
})
