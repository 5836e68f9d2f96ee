/**
 * `stream: true` event for event: names, order (research §6.3), payloads and framing on the wire,
 * and the openai-node helpers (`runs.stream`, `createAndStream`, `submitToolOutputsStream`,
 * `createAndRunStream`) reading them unchanged.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf, words } from './runs-support.js'
import { ORDER, postStream, readSse, shape } from './streaming-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}

beforeAll(async () => {
  stack = await startRunStack()
  client = stack.client
  assistantId = (await stack.assistant({ tools: [weatherTool] })).id
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

const newThread = (content = 'hello there') => client.beta.threads.create({ messages: [{ role: 'user', content }] })

describe('on the wire', () => {
  it('a text reply: created → queued → in_progress → message round → completed → done, with full objects', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: 'Hi there, friend.' })
    const thread = await newThread()
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toMatch(/^req_/)
    const events = await readSse(res)
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed', 'done'])
    expect(events.at(-1)).toEqual({ event: 'done', data: '[DONE]' })

    const byName = (n: string) => events.filter((e) => e.event === n)
    const run = byName('thread.run.created')[0]!.data
    expect(run).toMatchObject({ object: 'thread.run', status: 'queued', thread_id: thread.id, assistant_id: assistantId })
    expect(byName('thread.run.queued')[0]!.data).toMatchObject({ id: run.id, status: 'queued' })
    expect(byName('thread.run.in_progress')[0]!.data).toMatchObject({ id: run.id, status: 'in_progress', started_at: expect.any(Number) })
    const step = byName('thread.run.step.created')[0]!.data
    const message = byName('thread.message.created')[0]!.data
    expect(step).toMatchObject({
      object: 'thread.run.step',
      type: 'message_creation',
      status: 'in_progress',
      step_details: { message_creation: { message_id: message.id } },
    })
    expect(message).toMatchObject({ object: 'thread.message', role: 'assistant', status: 'in_progress', content: [], run_id: run.id })

    const deltas = byName('thread.message.delta').map((e) => e.data)
    expect(deltas[0]).toEqual({
      id: message.id,
      object: 'thread.message.delta',
      delta: { content: [{ index: 0, type: 'text', text: { value: 'Hi ', annotations: [] } }] },
    })
    expect(deltas[1]!.delta.content[0]).toEqual({ index: 0, type: 'text', text: { value: 'there, ' } })
    expect(deltas.map((d) => d.delta.content[0].text.value).join('')).toBe('Hi there, friend.')

    expect(byName('thread.message.completed')[0]!.data).toMatchObject({
      id: message.id,
      status: 'completed',
      content: [{ type: 'text', text: { value: 'Hi there, friend.' } }],
    })
    expect(byName('thread.run.step.completed')[0]!.data).toMatchObject({ id: step.id, status: 'completed', usage: { total_tokens: expect.any(Number) } })
    const completed = byName('thread.run.completed')[0]!.data
    expect(completed).toMatchObject({ id: run.id, status: 'completed', usage: { completion_tokens: 3 } })

    // What was streamed is what is stored.
    expect(await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).toMatchObject({ status: 'completed', usage: completed.usage })
    const stored = await client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id })
    expect(textOf(stored)).toBe('Hi there, friend.')
  })

  it('create thread and run: thread.created first, then the run', async () => {
    const res = await postStream(stack.api, '/threads/runs', {
      assistant_id: assistantId,
      stream: true,
      thread: { messages: [{ role: 'user', content: 'ping' }] },
    })
    const events = await readSse(res)
    expect(shape(events)).toEqual(['thread.created', ...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed', 'done'])
    const thread = events[0]!.data
    expect(thread).toMatchObject({ object: 'thread', id: expect.stringMatching(/^thread_/) })
    expect(events[1]!.data.thread_id).toBe(thread.id)
  })

  it('a tool call: the stream closes at requires_action; submit with stream opens with step.completed + queued', async () => {
    stack.upstream.respondOnce({ kind: 'tool_calls', calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] })
    const thread = await newThread('weather in Paris?')
    const events = await readSse(await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }))
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.toolRound, 'done'])
    const run = events.find((e) => e.event === 'thread.run.requires_action')!.data
    const [call] = run.required_action.submit_tool_outputs.tool_calls
    expect(call).toEqual({ id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })
    const step = events.find((e) => e.event === 'thread.run.step.created')!.data
    expect(step).toMatchObject({ type: 'tool_calls', status: 'in_progress', step_details: { type: 'tool_calls', tool_calls: [] } })
    const stepDeltas = events.filter((e) => e.event === 'thread.run.step.delta').map((e) => e.data)
    expect(stepDeltas[0]).toEqual({
      id: step.id,
      object: 'thread.run.step.delta',
      delta: {
        step_details: {
          type: 'tool_calls',
          tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: 'get_weather', arguments: '', output: null } }],
        },
      },
    })
    expect(stepDeltas.map((d) => d.delta.step_details.tool_calls[0].function.arguments).join('')).toBe('{"city":"Paris"}')

    stack.upstream.respondOnce({ kind: 'text', text: 'Sunny in Paris.' })
    const res = await postStream(stack.api, `/threads/${thread.id}/runs/${run.id}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: call.id, output: '22C sunny' }],
      stream: true,
    })
    const after = await readSse(res)
    expect(shape(after)).toEqual([
      'thread.run.step.completed',
      'thread.run.queued',
      'thread.run.in_progress',
      ...ORDER.messageRound(),
      'thread.run.completed',
      'done',
    ])
    expect(after[0]!.data).toMatchObject({
      id: step.id,
      type: 'tool_calls',
      status: 'completed',
      step_details: { tool_calls: [{ id: call.id, function: { output: '22C sunny' } }] },
    })
    expect(after[1]!.data).toMatchObject({ id: run.id, status: 'queued', required_action: null })
    expect(after.find((e) => e.event === 'thread.message.completed')!.data.content[0].text.value).toBe('Sunny in Paris.')
  })

  it('incomplete: cut by max_completion_tokens → message.incomplete, run.incomplete', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(300), chunkSize: 50 })
    const thread = await newThread()
    const events = await readSse(
      await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true, max_completion_tokens: 256 }),
    )
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.messageRound('incomplete'), 'thread.run.incomplete', 'done'])
    expect(events.find((e) => e.event === 'thread.run.incomplete')!.data).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_completion_tokens' },
    })
    expect(events.find((e) => e.event === 'thread.message.incomplete')!.data).toMatchObject({ status: 'incomplete' })
  })

  it('failed before any output: in_progress → failed with last_error → done', async () => {
    stack.upstream.respondOnce({
      kind: 'error',
      status: 400,
      body: { error: { message: 'bad prompt', type: 'invalid_request_error', param: null, code: null } },
    })
    const thread = await newThread()
    const events = await readSse(await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }))
    expect(shape(events)).toEqual([...ORDER.runOpens, 'thread.run.failed', 'done'])
    expect(events.at(-2)!.data).toMatchObject({
      status: 'failed',
      last_error: { code: expect.any(String), message: expect.any(String) },
      failed_at: expect.any(Number),
    })
  })

  it('failed mid-reply: the open message ends incomplete and its step failed, then run.failed', async () => {
    stack.upstream.respondOnce({ kind: 'reset', afterChunks: 3, text: 'one two three four five six' })
    const thread = await newThread()
    const events = await readSse(await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }))
    const s = shape(events)
    expect(s.slice(0, 8)).toEqual([...ORDER.runOpens, ...ORDER.messageRound().slice(0, 5)])
    expect(s.slice(-2)).toEqual(['thread.run.failed', 'done'])
    expect(s).toContain('thread.message.incomplete')
    expect(events.find((e) => e.event === 'thread.run.failed')!.data.last_error).toMatchObject({ code: 'server_error' })
  })

  it('cancel while streaming: cancelling → … → cancelled → done', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(40), interChunkDelayMs: 50 })
    const thread = await newThread()
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true })
    let runId = ''
    let cancel: Promise<unknown> | null = null
    const events = await readSse(res, {
      onEvent: (e) => {
        if (e.event === 'thread.run.created') runId = e.data.id
        if (e.event === 'thread.message.delta') cancel ??= client.beta.threads.runs.cancel(runId, { thread_id: thread.id })
      },
    })
    expect(await cancel).toMatchObject({ status: 'cancelling' })
    const names = shape(events)
    expect(names.indexOf('thread.run.cancelling')).toBeGreaterThan(names.indexOf('thread.message.created'))
    expect(names.slice(-4)).toEqual(['thread.message.incomplete', 'thread.run.step.cancelled', 'thread.run.cancelled', 'done'])
  })

  it('a client that only starts reading after the run finished still gets every event', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(30) })
    const thread = await newThread()
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true })
    const [run] = (await client.beta.threads.runs.list(thread.id)).data
    await settled(client, run!)
    const events = await readSse(res)
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed', 'done'])
    expect(events.filter((e) => e.event === 'thread.message.delta')).toHaveLength(30)
  })

  it('a slow reader gets every event in order', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(200) })
    const thread = await newThread()
    const events = await readSse(await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }), { pauseMs: 20 })
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed', 'done'])
    expect(
      events
        .filter((e) => e.event === 'thread.message.delta')
        .map((e) => e.data.delta.content[0].text.value)
        .join(''),
    ).toBe(words(200))
  })

  it('a client that disconnects mid-stream does not cancel the run', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(30), interChunkDelayMs: 20 })
    const thread = await newThread()
    const abort = new AbortController()
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistantId, stream: true }, abort.signal)
    await readSse(res, { onEvent: (e) => e.event === 'thread.message.delta' && abort.abort() }).catch(() => null)
    const [run] = (await client.beta.threads.runs.list(thread.id)).data
    const done = await settled(client, run!)
    expect(done.status).toBe('completed')
    const [reply] = (await client.beta.threads.messages.list(thread.id)).data
    expect(textOf(reply!)).toBe(words(30))
  })

  it('errors before the stream starts are plain HTTP errors the SDK raises', async () => {
    const thread = await newThread()
    await expect(client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_missing', stream: true })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    // A slow answer keeps the first run active while the second asks: with an instant one it could
    // finish first, and the second run would start (and take the next test's scripted reply).
    stack.upstream.respondOnce({ kind: 'text', text: 'still busy', firstTokenDelayMs: 3000 })
    const busy = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId })
    await expect(client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, stream: true })).rejects.toThrow(
      `already has an active run ${busy.id}`,
    )
    await settled(client, busy)
  })
})

describe('openai-node helpers', () => {
  it('runs.stream: textDelta, finalMessages(), finalRun(), and the event listener see the whole run', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: 'The quick brown fox.' })
    const thread = await newThread()
    let text = ''
    const names: string[] = []
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistantId })
      .on('textDelta', (d) => {
        text += d.value
      })
      .on('event', (e) => names.push(e.event))
    const messages = await stream.finalMessages()
    const run = await stream.finalRun()
    expect(text).toBe('The quick brown fox.')
    expect(messages.map(textOf)).toEqual(['The quick brown fox.'])
    expect(run.status).toBe('completed')
    expect(shape(names)).toEqual([...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed'])
    const steps = await stream.finalRunSteps()
    expect(steps.map((s) => s.type)).toEqual(['message_creation'])
  })

  it('createAndStream (deprecated alias) works the same', async () => {
    const thread = await newThread('abc')
    const stream = client.beta.threads.runs.createAndStream(thread.id, { assistant_id: assistantId })
    expect((await stream.finalMessages()).map(textOf)).toEqual(['Echo: abc [context: 1 messages]'])
  })

  it('toolCallCreated/toolCallDelta, requires_action, then submitToolOutputsStream to the answer', async () => {
    stack.upstream.respondOnce({ kind: 'tool_calls', text: 'Checking.', calls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }] })
    const thread = await newThread('weather in Oslo?')
    const created: string[] = []
    let args = ''
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistantId })
      .on('toolCallCreated', (c) => created.push(c.type === 'function' ? c.function.name : c.type))
      .on('toolCallDelta', (d) => {
        if (d.type === 'function') args += d.function?.arguments ?? ''
      })
    const run = await stream.finalRun()
    expect(run.status).toBe('requires_action')
    expect(created).toEqual(['get_weather'])
    expect(args).toBe('{"city":"Oslo"}')
    // Text before the call is its own, completed message.
    expect((await stream.finalMessages()).map(textOf)).toEqual(['Checking.'])
    const call = run.required_action!.submit_tool_outputs.tool_calls[0]!

    stack.upstream.respondOnce({ kind: 'text', text: 'Cold in Oslo.' })
    let text = ''
    const after = client.beta.threads.runs
      .submitToolOutputsStream(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: '-3C' }] })
      .on('textDelta', (d) => {
        text += d.value
      })
    const final = await after.finalRun()
    expect(final.status).toBe('completed')
    expect(text).toBe('Cold in Oslo.')
    const steps = await after.finalRunSteps()
    expect(steps.find((s) => s.type === 'tool_calls')).toMatchObject({
      status: 'completed',
      step_details: { tool_calls: [{ id: call.id, function: { output: '-3C' } }] },
    })
    const all = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(all.data.map(textOf)).toEqual(['weather in Oslo?', 'Checking.', 'Cold in Oslo.'])
  })

  it('createAndRunStream: a new thread, thread.created first', async () => {
    const names: string[] = []
    const stream = client.beta.threads
      .createAndRunStream({ assistant_id: assistantId, thread: { messages: [{ role: 'user', content: 'new thread' }] } })
      .on('event', (e) => names.push(e.event))
    const run = await stream.finalRun()
    expect(run.status).toBe('completed')
    expect(names[0]).toBe('thread.created')
    expect((await stream.finalMessages()).map(textOf)).toEqual(['Echo: new thread [context: 1 messages]'])
  })

  it('two parallel tool calls stream as indexes 0 and 1 and are answered together', async () => {
    stack.upstream.respondOnce({
      kind: 'tool_calls',
      calls: [
        { name: 'get_weather', arguments: '{"city":"Rome"}' },
        { name: 'get_weather', arguments: '{"city":"Lima"}' },
      ],
    })
    const thread = await newThread('two cities')
    const byIndex = new Map<number, string>()
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistantId }).on('runStepDelta', (d) => {
      if (d.step_details?.type !== 'tool_calls') return
      for (const c of d.step_details.tool_calls ?? [])
        if (c.type === 'function') byIndex.set(c.index, (byIndex.get(c.index) ?? '') + (c.function?.arguments ?? ''))
    })
    const run = await stream.finalRun()
    const calls = run.required_action!.submit_tool_outputs.tool_calls
    expect(calls.map((c) => c.function.arguments)).toEqual(['{"city":"Rome"}', '{"city":"Lima"}'])
    expect(new Set(calls.map((c) => c.id)).size).toBe(2)
    expect([...byIndex.entries()]).toEqual([
      [0, '{"city":"Rome"}'],
      [1, '{"city":"Lima"}'],
    ])
    const final = await client.beta.threads.runs
      .submitToolOutputsStream(run.id, { thread_id: thread.id, tool_outputs: calls.map((c, i) => ({ tool_call_id: c.id, output: `out${i}` })) })
      .finalRun()
    expect(final.status).toBe('completed')
    // The model saw both outputs.
    const tools = stack.upstream.requests.at(-1)!.body.messages.filter((m) => m.role === 'tool')
    expect(tools).toEqual([
      { role: 'tool', tool_call_id: calls[0]!.id, content: 'out0' },
      { role: 'tool', tool_call_id: calls[1]!.id, content: 'out1' },
    ])
  })
})
