/**
 * The worker's built-in tool loop (services/worker/src/run-executor.ts) driven in-process against
 * the real API, Redis and the fake upstream model, with the official SDK as the client. The tool's
 * backend here is a small in-test `python` tool, so this file pins the loop itself — rounds, step
 * records, streaming, mixed rounds, usage, re-runs after a lost worker — independently of the
 * sandbox and search services, whose end-to-end tests use the real backends.
 */
import { type ApiServer, type FakeUpstream, pythonCall, startApiServer, startFakeUpstream, toolScript } from '@threadwork/test-utils'
import { createProviderRouter } from '../../packages/model-client/src/index.js'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createCancelRegistry } from '../../services/worker/src/cancel-registry.js'
import { createLiveEvents } from '../../services/worker/src/live-events.js'
import { createDrainProcessor } from '../../services/worker/src/processors/drain-thread.js'
import { createRunExecutor } from '../../services/worker/src/run-executor.js'
import type { BuiltinTool } from '../../services/worker/src/tools/builtin-tool.js'
import { codeOf } from '../../services/worker/src/tools/code-interpreter.js'
import { postStream, readSse } from './streaming-support.js'

let upstream: FakeUpstream
let api: ApiServer
let client: OpenAI
const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet } }

/** What the in-test tool does on its next execution (once), e.g. lose the worker mid-call. */
let onExecute: ((runId: string) => void) | null = null
let executions: string[] = []
const cancels = createCancelRegistry()

/** Evaluates `a * b` style code and prints the result: just enough of a "python" to drive the loop. */
const arithmetic: BuiltinTool = {
  type: 'code_interpreter',
  name: 'python',
  offer: () => ({ type: 'function', function: { name: 'python', parameters: { type: 'object', properties: { code: { type: 'string' } } } } }),
  async execute(call, ctx) {
    const code = codeOf(call.arguments)
    executions.push(code)
    const hook = onExecute
    onExecute = null
    hook?.(ctx.run.id)
    if (ctx.signal.aborted) throw ctx.signal.reason
    // "sleep" stands for code that runs until interrupted (the sandbox interrupts the kernel on abort).
    if (code.includes('sleep')) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 20_000)
        ctx.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true })
      })
    }
    if (ctx.signal.aborted) throw ctx.signal.reason
    const m = /(\d+)\s*\*\s*(\d+)/.exec(code)
    const logs = m ? `${Number(m[1]) * Number(m[2])}\n` : "Traceback (most recent call last):\nNameError: name 'x' is not defined\n"
    ctx.emit({ outputs: [{ index: 0, type: 'logs', logs }] })
    return { call: { id: call.id, type: 'code_interpreter', code_interpreter: { input: code, outputs: [{ type: 'logs', logs }] } }, output: logs }
  },
}

let drain: (threadId: string) => Promise<unknown>

beforeAll(async () => {
  upstream = await startFakeUpstream()
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL })
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  const executeRun = createRunExecutor({
    stores: api.stores,
    router: createProviderRouter({ defaultProvider: { baseURL: upstream.baseURL, apiKey: 'x' }, routes: [] }),
    live: createLiveEvents(api.redis, api.stores.keys),
    cancels,
    log: quiet as never,
    upstreamAttempts: 1,
    builtins: [arithmetic],
  })
  drain = createDrainProcessor({ stores: api.stores, log: quiet as never, executeRun })
})
afterAll(async () => {
  await api?.close()
  await upstream?.close()
})
beforeEach(() => {
  upstream.reset()
  executions = []
  onExecute = null
})

const python = { type: 'code_interpreter' as const }
const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const sumUsage = (steps: OpenAI.Beta.Threads.Runs.RunStep[]) =>
  steps.reduce((a, s) => ({ prompt_tokens: a.prompt_tokens + s.usage!.prompt_tokens, completion_tokens: a.completion_tokens + s.usage!.completion_tokens, total_tokens: a.total_tokens + s.usage!.total_tokens }), {
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
  })

async function newRunThread(tools: OpenAI.Beta.AssistantTool[], content = 'What is 6 times 7?') {
  const assistant = await client.beta.assistants.create({ model: 'fake-model', tools })
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content }] })
  return { assistant, thread }
}

describe('built-in tool loop', () => {
  it('runs the code without requires_action, records a completed code_interpreter step, and answers in the next round — streamed', async () => {
    upstream.respond(toolScript([{ call: pythonCall('print(6 * 7)') }, { answer: ({ outputs }) => `It is ${outputs[0]!.trim()}.` }]))
    const { assistant, thread } = await newRunThread([python])
    const res = await postStream(api, `/threads/${thread.id}/runs`, { assistant_id: assistant.id, stream: true })
    const reading = readSse(res)
    await expect.poll(async () => (await api.redis.llen(api.stores.keys.mailbox(thread.id))) > 0).toBe(true)
    await drain(thread.id)
    const events = await reading

    const names = events.map((e) => e.event)
    expect(names).not.toContain('thread.run.requires_action')
    expect(names.at(-2)).toBe('thread.run.completed')
    const toolStepEvents = events.filter((e) => e.event.startsWith('thread.run.step') && (e.data.step_details?.type === 'tool_calls' || e.data.delta?.step_details?.type === 'tool_calls'))
    expect(toolStepEvents.map((e) => e.event)).toEqual(expect.arrayContaining(['thread.run.step.created', 'thread.run.step.delta', 'thread.run.step.completed']))
    const deltas = toolStepEvents.filter((e) => e.event === 'thread.run.step.delta').map((e) => e.data.delta.step_details.tool_calls[0])
    expect(deltas[0]).toMatchObject({ index: 0, type: 'code_interpreter', code_interpreter: { input: '', outputs: [] } })
    expect(deltas.map((d) => d.code_interpreter.input ?? '').join('')).toBe('print(6 * 7)')
    expect(deltas.at(-1)).toEqual({ index: 0, type: 'code_interpreter', code_interpreter: { outputs: [{ index: 0, type: 'logs', logs: '42\n' }] } })
    // The tool step completes before the answer's message opens (OpenAI's order).
    expect(names.indexOf('thread.message.created')).toBeGreaterThan(names.lastIndexOf('thread.run.step.delta'))

    const run = (await client.beta.threads.runs.list(thread.id)).data[0]!
    expect(run.status).toBe('completed')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data
    expect(steps.map((s) => [s.type, s.status])).toEqual([
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ])
    expect(steps[0]!.step_details).toEqual({
      type: 'tool_calls',
      tool_calls: [{ id: expect.stringMatching(/^call_/), type: 'code_interpreter', code_interpreter: { input: 'print(6 * 7)', outputs: [{ type: 'logs', logs: '42\n' }] } }],
    })
    expect(sumUsage(steps)).toEqual(run.usage)
    const [reply] = (await client.beta.threads.messages.list(thread.id)).data
    expect(reply!.content[0]).toMatchObject({ type: 'text', text: { value: 'It is 42.' } })
    // The model's second round saw its call and the output as a function-calling turn.
    const second = upstream.requests[1]!.body.messages
    expect(second.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'python' } }] })
    expect(second.at(-1)).toMatchObject({ role: 'tool', content: '42\n' })
  })

  it('a traceback is an output: the model corrects itself in a second call, and the run completes', async () => {
    upstream.respond(toolScript([{ call: pythonCall('print(x)') }, { call: pythonCall('x = 6 * 7; print(x)') }, { answer: 'Fixed: 42.' }]))
    const { assistant, thread } = await newRunThread([python])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    await drain(thread.id)
    const run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('completed')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data
    expect(steps.map((s) => s.type)).toEqual(['tool_calls', 'tool_calls', 'message_creation'])
    const outputsOf = (s: OpenAI.Beta.Threads.Runs.RunStep) =>
      s.step_details.type === 'tool_calls' && s.step_details.tool_calls[0]!.type === 'code_interpreter' ? s.step_details.tool_calls[0]!.code_interpreter.outputs : []
    expect(JSON.stringify(outputsOf(steps[0]!))).toContain('NameError')
    expect(outputsOf(steps[1]!)).toEqual([{ type: 'logs', logs: '42\n' }])
    expect(sumUsage(steps)).toEqual(run.usage)
  })

  it('a mixed round runs the built-in, then parks for the function alone; outputs submitted, the step completes with both', async () => {
    upstream.respond(toolScript([{ call: [pythonCall('print(6 * 7)'), { name: 'get_weather', arguments: '{"city":"Oslo"}' }] }, { answer: ({ allOutputs }) => `Got ${allOutputs.join(' and ').replace(/\n/g, '')}` }]))
    const { assistant, thread } = await newRunThread([python, weather])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    await drain(thread.id)
    let run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('requires_action')
    const required = run.required_action!.submit_tool_outputs.tool_calls
    expect(required.map((c) => c.function.name)).toEqual(['get_weather'])
    const open = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data[0]!
    expect(open).toMatchObject({ status: 'in_progress', usage: null })
    expect(open.step_details.type === 'tool_calls' && open.step_details.tool_calls.map((c) => c.type)).toEqual(['code_interpreter', 'function'])

    await client.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: required[0]!.id, output: 'rain' }] })
    await drain(thread.id)
    run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('completed')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data
    const toolStep = steps[0]!
    expect(toolStep.status).toBe('completed')
    expect(toolStep.step_details.type === 'tool_calls' && toolStep.step_details.tool_calls).toEqual([
      expect.objectContaining({ type: 'code_interpreter', code_interpreter: { input: 'print(6 * 7)', outputs: [{ type: 'logs', logs: '42\n' }] } }),
      expect.objectContaining({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}', output: 'rain' } }),
    ])
    expect(sumUsage(steps)).toEqual(run.usage)
    expect((await client.beta.threads.messages.list(thread.id)).data[0]!.content[0]).toMatchObject({ text: { value: 'Got 42 and rain' } })
    expect(executions).toEqual(['print(6 * 7)'])
  })

  it('a worker lost mid-execution re-runs only that round, under the same step ids: no duplicate step or message', async () => {
    upstream.respond(toolScript([{ call: pythonCall('print(6 * 7)') }, { call: pythonCall('print(2 * 3)') }, { answer: 'Both done.' }]))
    const { assistant, thread } = await newRunThread([python])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    // The second execution loses its worker (shutdown past the grace period): the thread is handed back.
    let calls = 0
    const loseSecond = (runId: string) => {
      calls++
      if (calls === 2) cancels.abort(runId, 'shutdown')
      else onExecute = loseSecond
    }
    onExecute = loseSecond
    await drain(thread.id)
    const midway = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(midway.status).toBe('in_progress')
    const before = (await client.beta.threads.runs.steps.list(created.id, { thread_id: thread.id })).data
    expect(before).toHaveLength(1)

    await drain(thread.id)
    const run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('completed')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data
    expect(steps.map((s) => s.type)).toEqual(['tool_calls', 'tool_calls', 'message_creation'])
    expect(steps[0]!.id).toBe(before[0]!.id)
    // Round 1 ran once; round 2's code ran in the lost attempt and again in the re-run.
    expect(executions).toEqual(['print(6 * 7)', 'print(2 * 3)', 'print(2 * 3)'])
    expect(upstream.requests.map((r) => r.body.messages.filter((m) => m.role === 'tool').length)).toEqual([0, 1, 1, 2])
    expect((await client.beta.threads.messages.list(thread.id)).data.filter((m) => m.role === 'assistant')).toHaveLength(1)
    expect(sumUsage(steps)).toEqual(run.usage)
  })

  it('cancel interrupts a running execution: the run ends cancelled, no answer round follows', async () => {
    upstream.respond(toolScript([{ call: pythonCall('print(6 * 7)') }, { answer: 'never' }]))
    const { assistant, thread } = await newRunThread([python])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    onExecute = (runId) => cancels.abort(runId, 'cancelled')
    await drain(thread.id)
    const run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('cancelled')
    expect(upstream.requests).toHaveLength(1)
    // The interrupted call is kept, ended like the run, as OpenAI's steps list would show it.
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data
    expect(steps).toHaveLength(1)
    expect(steps[0]).toMatchObject({
      type: 'tool_calls',
      status: 'cancelled',
      cancelled_at: expect.any(Number),
      step_details: { tool_calls: [{ type: 'code_interpreter', code_interpreter: { input: 'print(6 * 7)', outputs: [] } }] },
    })
  })

  it('expiry interrupts a running execution: the run and its step end expired', async () => {
    upstream.respond(toolScript([{ call: pythonCall('import time; time.sleep(60)') }, { answer: 'never' }]))
    const { assistant, thread } = await newRunThread([python])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    // Expires two seconds from now (the API gives runs 10 minutes).
    await api.redis.hset(api.stores.keys.run(thread.id, created.id), 'expires_at', JSON.stringify(Math.floor(Date.now() / 1000) + 2))
    const started = Date.now()
    await drain(thread.id)
    expect(Date.now() - started).toBeLessThan(15_000)
    const run = await client.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })
    expect(run.status).toBe('expired')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data
    expect(steps).toEqual([expect.objectContaining({ type: 'tool_calls', status: 'expired', expired_at: expect.any(Number) })])
    expect(upstream.requests).toHaveLength(1)
  })
})
