/**
 * Function calling through the official SDK (polling helpers): tool validation, requires_action
 * and its step, submit_tool_outputs with OpenAI's error texts, multi-round tool use, and the run
 * settings that reach the upstream (`tool_choice`, `parallel_tool_calls`, `response_format`).
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { apiError } from './support.js'
import { type RunStack, pollRun, settled, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

const fn = (name: string, parameters: Record<string, unknown> = { type: 'object', properties: {} }) => ({
  type: 'function' as const,
  function: { name, parameters },
})
const tools = [fn('get_weather', { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), fn('get_time')]

beforeAll(async () => {
  stack = await startRunStack()
  client = stack.client
  assistantId = (await stack.assistant({ tools })).id
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

const newThread = (content = 'what is the weather?') => client.beta.threads.create({ messages: [{ role: 'user', content }] })
const callOnce = (...calls: { name: string; arguments: string }[]) => stack.upstream.respondOnce({ kind: 'tool_calls', calls })

/** Starts a run and waits until it asks for tool outputs. */
async function untilAction(threadId: string, params: Partial<OpenAI.Beta.Threads.RunCreateParamsNonStreaming> = {}) {
  const run = await client.beta.threads.runs.createAndPoll(threadId, { assistant_id: assistantId, ...params })
  expect(run.status).toBe('requires_action')
  return run
}

describe('function tools are validated', () => {
  it('names: 1–64 of [A-Za-z0-9_-]', async () => {
    for (const name of ['', 'has space', 'dot.name', 'x'.repeat(65), 'ünïcode']) {
      const err = await apiError(() => client.beta.assistants.create({ model: 'fake-model', tools: [fn(name)] }))
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'tools[0].function.name' })
    }
    for (const name of ['a', 'A-b_9', 'x'.repeat(64)]) {
      await expect(client.beta.assistants.create({ model: 'fake-model', tools: [fn(name)] })).resolves.toMatchObject({ tools: [{ function: { name } }] })
    }
  })

  it('at most 128 tools per assistant, 20 per run override', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => fn(`f${i}`))
    await expect(client.beta.assistants.create({ model: 'fake-model', tools: many(128) })).resolves.toMatchObject({ object: 'assistant' })
    const tooMany = await apiError(() => client.beta.assistants.create({ model: 'fake-model', tools: many(129) }))
    expect(tooMany.status).toBe(400)
    expect(tooMany.error).toMatchObject({ param: 'tools' })

    const thread = await newThread()
    const runTooMany = await apiError(() => client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, tools: many(21) }))
    expect(runTooMany.status).toBe(400)
    expect(runTooMany.error).toMatchObject({ param: 'tools' })
    const ok = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, tools: many(20) })
    expect(ok.tools).toHaveLength(20)
    expect(stack.upstream.requests.at(-1)!.body.tools).toHaveLength(20)
  })
})

describe('requires_action', () => {
  it('carries the calls (call_ ids) and a tool_calls step awaiting outputs; the model got the tools', async () => {
    callOnce({ name: 'get_weather', arguments: '{"city":"Paris"}' })
    const thread = await newThread()
    const run = await untilAction(thread.id)
    expect(run.required_action).toEqual({
      type: 'submit_tool_outputs',
      submit_tool_outputs: {
        tool_calls: [{ id: expect.stringMatching(/^call_[A-Za-z0-9]+$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
    })
    expect(run.usage).toMatchObject({ total_tokens: expect.any(Number) })
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })
    expect(steps.data).toHaveLength(1)
    expect(steps.data[0]).toMatchObject({
      type: 'tool_calls',
      status: 'in_progress',
      step_details: {
        type: 'tool_calls',
        tool_calls: [
          {
            id: run.required_action!.submit_tool_outputs.tool_calls[0]!.id,
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}', output: null },
          },
        ],
      },
    })
    const body = stack.upstream.requests[0]!.body
    expect(body.tools).toEqual(tools.map((t) => ({ type: 'function', function: t.function })))
    expect(body.parallel_tool_calls).toBe(true)
    // The thread stays locked while the run waits.
    await expect(client.beta.threads.messages.create(thread.id, { role: 'user', content: 'x' })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
  })

  it('submitToolOutputsAndPoll resumes the run; the model sees the call and its output; the step completes', async () => {
    callOnce({ name: 'get_weather', arguments: '{"city":"Paris"}' })
    const thread = await newThread('weather in Paris')
    const run = await untilAction(thread.id)
    const call = run.required_action!.submit_tool_outputs.tool_calls[0]!
    stack.upstream.respondOnce({ kind: 'text', text: 'It is sunny.' })
    const done = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: [{ tool_call_id: call.id, output: '{"sky":"clear"}' }],
    })
    expect(done).toMatchObject({ status: 'completed', required_action: null })
    const second = stack.upstream.requests[1]!.body.messages
    expect(second.slice(-2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: call.id, content: '{"sky":"clear"}' },
    ])
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })
    expect(steps.data.map((s) => [s.type, s.status])).toEqual([
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ])
    expect(steps.data[0]!.step_details).toMatchObject({ tool_calls: [{ function: { output: '{"sky":"clear"}' } }] })
    const [reply] = (await client.beta.threads.messages.list(thread.id)).data
    expect(textOf(reply!)).toBe('It is sunny.')
  })

  it('the run may call tools again after outputs, round after round, then answer', async () => {
    stack.upstream.respondOnce(
      { kind: 'tool_calls', calls: [{ name: 'get_time', arguments: '{}' }] },
      { kind: 'tool_calls', text: 'Now the weather.', calls: [{ name: 'get_weather', arguments: '{"city":"Rome"}' }] },
      { kind: 'text', text: 'Noon and warm.' },
    )
    const thread = await newThread('time and weather in Rome')
    let run = await untilAction(thread.id)
    const first = run.required_action!.submit_tool_outputs.tool_calls[0]!
    expect(first.function.name).toBe('get_time')
    run = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: first.id, output: '12:00' }] })
    expect(run.status).toBe('requires_action')
    const second = run.required_action!.submit_tool_outputs.tool_calls[0]!
    expect(second).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Rome"}' } })
    expect(second.id).not.toBe(first.id)
    run = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: second.id, output: '25C' }] })
    expect(run.status).toBe('completed')
    // Round 3 saw both tool turns.
    const tail = stack.upstream.requests[2]!.body.messages.filter((m) => m.role === 'tool')
    expect(tail).toEqual([
      { role: 'tool', tool_call_id: first.id, content: '12:00' },
      { role: 'tool', tool_call_id: second.id, content: '25C' },
    ])
    // Text written before a call in the same round is kept as its own message.
    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(messages.data.map((m) => [m.role, textOf(m)])).toEqual([
      ['user', 'time and weather in Rome'],
      ['assistant', 'Now the weather.'],
      ['assistant', 'Noon and warm.'],
    ])
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })
    expect(steps.data.map((s) => s.type)).toEqual(['tool_calls', 'message_creation', 'tool_calls', 'message_creation'])
    expect(steps.data.every((s) => s.status === 'completed')).toBe(true)
    expect(run.usage!.total_tokens).toBeGreaterThan(0)
  })

  it('two parallel calls are submitted together', async () => {
    callOnce({ name: 'get_weather', arguments: '{"city":"A"}' }, { name: 'get_weather', arguments: '{"city":"B"}' })
    const thread = await newThread()
    const run = await untilAction(thread.id)
    const calls = run.required_action!.submit_tool_outputs.tool_calls
    expect(calls.map((c) => c.function.arguments)).toEqual(['{"city":"A"}', '{"city":"B"}'])
    const done = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: calls.map((c) => ({ tool_call_id: c.id, output: c.function.arguments })),
    })
    expect(done.status).toBe('completed')
  })

  it('parallel_tool_calls: false reaches the upstream (which then makes one call)', async () => {
    callOnce({ name: 'get_weather', arguments: '{"city":"A"}' }, { name: 'get_weather', arguments: '{"city":"B"}' })
    const thread = await newThread()
    const run = await untilAction(thread.id, { parallel_tool_calls: false })
    expect(run.parallel_tool_calls).toBe(false)
    expect(stack.upstream.requests[0]!.body.parallel_tool_calls).toBe(false)
    expect(run.required_action!.submit_tool_outputs.tool_calls).toHaveLength(1)
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
  })
})

describe('submit_tool_outputs errors (OpenAI texts)', () => {
  it('missing or unknown call ids', async () => {
    callOnce({ name: 'get_weather', arguments: '{"city":"A"}' }, { name: 'get_time', arguments: '{}' })
    const thread = await newThread()
    const run = await untilAction(thread.id)
    const [a, b] = run.required_action!.submit_tool_outputs.tool_calls.map((c) => c.id) as [string, string]
    const missing = await apiError(() =>
      client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: a, output: 'x' }] }),
    )
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError)
    expect(missing.error).toEqual({
      message: `Expected tool outputs for call_ids ['${a}', '${b}'], got ['${a}']`,
      type: 'invalid_request_error',
      param: null,
      code: null,
    })
    const unknown = await apiError(() =>
      client.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: [
          { tool_call_id: a, output: 'x' },
          { tool_call_id: 'call_nope', output: 'y' },
        ],
      }),
    )
    expect(unknown.message).toContain(`Expected tool outputs for call_ids ['${a}', '${b}'], got ['${a}', 'call_nope']`)
    // Nothing changed: the run still waits, and the right outputs are accepted.
    const done = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: [
        { tool_call_id: b, output: '1' },
        { tool_call_id: a, output: '2' },
      ],
    })
    expect(done.status).toBe('completed')
  })

  it('a run not waiting for outputs: Runs in status "<status>" do not accept tool outputs.', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: 'slow', firstTokenDelayMs: 1500 })
    const thread = await newThread()
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId })
    const early = await apiError(() => client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [] }))
    expect(early.status).toBe(400)
    expect(early.error).toEqual({
      message: expect.stringMatching(/^Runs in status "(queued|in_progress)" do not accept tool outputs\.$/),
      type: 'invalid_request_error',
      param: null,
      code: null,
    })
    await settled(client, run)
    const late = await apiError(() => client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [] }))
    expect(late.message).toContain('Runs in status "completed" do not accept tool outputs.')
  })

  it('a submit stream on a run not waiting answers the same error as plain HTTP, not a stream', async () => {
    const thread = await newThread()
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, tool_choice: 'none' })
    const err = await apiError(() => client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [], stream: true }))
    expect(err.message).toContain('Runs in status "completed" do not accept tool outputs.')
  })
})

describe('run settings reach the upstream', () => {
  it('tool_choice none | auto | required | named', async () => {
    const thread = await newThread()
    const none = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, tool_choice: 'none' })
    expect(none.status).toBe('completed')
    const noneBody = stack.upstream.requests.at(-1)!.body
    // `none`: the model is offered no tools at all (every provider understands that).
    expect(noneBody.tools).toBeUndefined()

    const auto = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, tool_choice: 'auto' })
    expect(auto.status).toBe('completed')
    expect(stack.upstream.requests.at(-1)!.body.tool_choice).toBe('auto')

    const required = await untilAction(thread.id, { tool_choice: 'required' })
    expect(stack.upstream.requests.at(-1)!.body.tool_choice).toBe('required')
    expect(required.tool_choice).toBe('required')
    await client.beta.threads.runs.cancel(required.id, { thread_id: thread.id })

    const named = await untilAction(thread.id, { tool_choice: { type: 'function', function: { name: 'get_time' } } })
    expect(stack.upstream.requests.at(-1)!.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } })
    expect(named.required_action!.submit_tool_outputs.tool_calls[0]!.function.name).toBe('get_time')
    await client.beta.threads.runs.cancel(named.id, { thread_id: thread.id })
  })

  it('response_format json_object and json_schema', async () => {
    const thread = await newThread()
    const a = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, response_format: { type: 'json_object' } })
    expect(a.response_format).toEqual({ type: 'json_object' })
    expect(stack.upstream.requests.at(-1)!.body.response_format).toEqual({ type: 'json_object' })
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false }
    const b = await client.beta.threads.runs.createAndPoll(thread.id, {
      assistant_id: assistantId,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    })
    expect(b.status).toBe('completed')
    expect(stack.upstream.requests.at(-1)!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } })
  })
})

describe('expiry covers requires_action', () => {
  it('time spent waiting counts toward expires_at; an expired run refuses outputs with OpenAI’s message', async () => {
    // 5 s, not less: created_at is whole seconds, and on a loaded machine a fresh worker can take a
    // few seconds to reach requires_action; the run must be seen waiting before it expires.
    const short = await startRunStack({ api: { runExpiresAfterSeconds: 5 } })
    try {
      const assistant = await short.assistant({ tools })
      short.upstream.respondOnce({ kind: 'tool_calls', calls: [{ name: 'get_time', arguments: '{}' }] })
      const thread = await short.client.beta.threads.create({ messages: [{ role: 'user', content: 'time?' }] })
      const run = await short.client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id })
      expect(run.status).toBe('requires_action')
      expect(run.expires_at! - run.created_at).toBe(5)
      const call = run.required_action!.submit_tool_outputs.tool_calls[0]!
      const expired = await pollRun(short.client, run, (r) => r.status === 'expired', 20_000)
      expect(expired).toMatchObject({ status: 'expired', required_action: null })
      const err = await apiError(() =>
        short.client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: 'late' }] }),
      )
      expect(err.error).toEqual({ message: 'Runs in status "expired" do not accept tool outputs.', type: 'invalid_request_error', param: null, code: null })
      const steps = await short.client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })
      expect(steps.data[0]).toMatchObject({ type: 'tool_calls', status: 'expired' })
      // The thread is free again.
      await short.client.beta.threads.messages.create(thread.id, { role: 'user', content: 'ok' })
    } finally {
      await short.close()
    }
  })
})
