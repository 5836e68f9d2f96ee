import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError } from './support.js'

// Issue 12 items 2 (step usage), 3 (tool_choice validation) and 5 (include[] validation), through the official SDK.

let upstream: FakeUpstream
let api: ApiServer
let worker: ServiceProcess
let client: OpenAI

beforeAll(async () => {
  upstream = await startFakeUpstream()
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL })
  worker = await startServiceProcess('worker', { REDIS_PREFIX: api.prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x', WORKER_LOCK_MS: '4000' })
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
})
afterAll(async () => {
  worker?.kill('SIGKILL')
  await api?.close()
  await upstream?.close()
})

const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content' as const

async function runsBefore(threadId: string) {
  return (await client.beta.threads.runs.list(threadId)).data.length
}

describe('tool_choice is checked against the run’s tools (issue 12.3)', () => {
  it('refuses {type:"function"} without function.name, a function the run lacks, and a built-in the run lacks — nothing stored', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model', tools: [weather] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const cases: { tool_choice: OpenAI.Beta.Threads.AssistantToolChoice; tools?: OpenAI.Beta.AssistantTool[]; says: RegExp }[] = [
      { tool_choice: { type: 'function' }, says: /function\.name/ },
      { tool_choice: { type: 'function', function: { name: 'get_time' } }, says: /get_time/ },
      { tool_choice: { type: 'file_search' }, says: /file_search/ },
      { tool_choice: { type: 'code_interpreter' }, says: /code_interpreter/ },
      // The run's own tools override the assistant's: get_weather is no longer among them.
      { tool_choice: { type: 'function', function: { name: 'get_weather' } }, tools: [{ type: 'code_interpreter' }], says: /get_weather/ },
    ]
    for (const c of cases) {
      const err = await apiError(() => client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, tool_choice: c.tool_choice, ...(c.tools ? { tools: c.tools } : {}) }))
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'tool_choice', message: expect.stringMatching(c.says) })
    }
    const viaThread = await apiError(() =>
      client.beta.threads.createAndRun({ assistant_id: assistant.id, tool_choice: { type: 'file_search' }, thread: { messages: [{ role: 'user', content: 'x' }] } }),
    )
    expect(viaThread.status).toBe(400)
    expect(await runsBefore(thread.id)).toBe(0)

    // A turn's run settings are checked the same way (param names the nested field).
    const res = await fetch(`${api.baseURL}/threads/${thread.id}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: 'x', run: { tool_choice: { type: 'code_interpreter' } } }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('run.tool_choice')
  })

  it('accepts a forced tool the run has', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model', tools: [weather, { type: 'code_interpreter' }] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, tool_choice: { type: 'function', function: { name: 'get_weather' } } })
    expect(run.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } })
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id }).catch(() => {})
  })
})

describe('include[] (issue 12.5)', () => {
  it('refuses an unknown value on run create and on step list/get, naming it; accepts the one value', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const bad = await apiError(() => client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, include: ['step_details.nope' as never] }))
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect(bad.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining("'step_details.nope'") })
    expect(await runsBefore(thread.id)).toBe(0)

    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id, include: [INCLUDE] })
    expect(run.status).toBe('completed')
    const listBad = await apiError(() => client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, include: ['usage' as never] }))
    expect(listBad.status).toBe(400)
    expect(listBad.message).toContain("'usage'")
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, include: [INCLUDE] })
    const stepId = steps.data[0]!.id
    const getBad = await apiError(() => client.beta.threads.runs.steps.retrieve(stepId, { thread_id: thread.id, run_id: run.id, include: [INCLUDE, 'x' as never] }))
    expect(getBad.status).toBe(400)
    const step = await client.beta.threads.runs.steps.retrieve(stepId, { thread_id: thread.id, run_id: run.id, include: [INCLUDE] })
    expect(step.id).toBe(stepId)
  })
})

describe('step usage (issue 12.2)', () => {
  it('every completed step carries its model round’s usage, and the steps add up to the run’s usage', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model', tools: [weather] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'weather in Paris?' }] })
    upstream.respondOnce(
      { kind: 'tool_calls', text: 'Let me check.', calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }], usage: { prompt_tokens: 30, completion_tokens: 7 } },
      { kind: 'text', text: 'Sunny.', usage: { prompt_tokens: 50, completion_tokens: 2 } },
    )
    let run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id })
    expect(run.status).toBe('requires_action')
    const open = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })
    expect(open.data.find((s) => s.type === 'tool_calls')).toMatchObject({ status: 'in_progress', usage: null })
    const callId = run.required_action!.submit_tool_outputs.tool_calls[0]!.id
    run = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: callId, output: 'sunny' }] })
    expect(run.status).toBe('completed')
    expect(run.usage).toEqual({ prompt_tokens: 80, completion_tokens: 9, total_tokens: 89 })

    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data
    expect(steps.map((s) => [s.type, s.status])).toEqual([
      ['message_creation', 'completed'],
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ])
    for (const s of steps) expect(s.usage).not.toBeNull()
    expect(steps[1]!.usage).toEqual({ prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 })
    expect(steps[2]!.usage).toEqual({ prompt_tokens: 50, completion_tokens: 2, total_tokens: 52 })
    const sum = steps.reduce(
      (a, s) => ({ prompt_tokens: a.prompt_tokens + s.usage!.prompt_tokens, completion_tokens: a.completion_tokens + s.usage!.completion_tokens, total_tokens: a.total_tokens + s.usage!.total_tokens }),
      { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    )
    expect(sum).toEqual(run.usage)
  })
})
