/**
 * Issue 12 item 6: every create-run and assistant field that shapes the model's answer reaches
 * the model, under its own name. `reasoning_effort` (assistant, run, turn) is sent as
 * `reasoning_effort`; `max_completion_tokens` as `max_completion_tokens`, or as `max_tokens` for a
 * provider route marked `maxTokensParam: "max_tokens"`. Asserted on the request the fake model got.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type RecordedRequest, startFakeUpstream } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunStack, pollRun, settled, startRunStack } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let dir: string

/** Served by a route whose server only knows `max_tokens`. */
const OLD_SERVER_MODEL = 'old-server-model'

beforeAll(async () => {
  const upstream = await startFakeUpstream()
  const routes = [{ name: 'old-server', match: OLD_SERVER_MODEL, baseURL: upstream.baseURL, maxTokensParam: 'max_tokens' as const }]
  dir = await mkdtemp(join(tmpdir(), 'threadwork-fields-'))
  await writeFile(join(dir, 'providers.json'), JSON.stringify(routes))
  stack = await startRunStack({ upstream, api: { providerRoutes: routes }, worker: { PROVIDERS_FILE: join(dir, 'providers.json') } })
  client = stack.client
})
afterAll(async () => {
  await stack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Runs to the end on a new thread and returns the one model request it made. */
async function modelRequestOf(assistantId: string, params: Partial<OpenAI.Beta.Threads.RunCreateParamsNonStreaming> = {}): Promise<RecordedRequest['body']> {
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
  const run = await settled(client, await client.beta.threads.runs.create(thread.id, { ...params, assistant_id: assistantId, stream: false }))
  expect(run.status).toBe('completed')
  const sent = stack.upstream.requests.filter((r) => r.runId === run.id)
  expect(sent).toHaveLength(1)
  return sent[0]!.body
}

describe('reasoning_effort', () => {
  it('the assistant’s reaches the model', async () => {
    const assistant = await stack.assistant({ reasoning_effort: 'low' })
    expect((await modelRequestOf(assistant.id)).reasoning_effort).toBe('low')
  })

  it('the run’s overrides the assistant’s', async () => {
    const assistant = await stack.assistant({ reasoning_effort: 'low' })
    expect((await modelRequestOf(assistant.id, { reasoning_effort: 'high' })).reasoning_effort).toBe('high')
  })

  it('set nowhere: not sent at all (servers without reasoning models never see it)', async () => {
    const assistant = await stack.assistant()
    expect(await modelRequestOf(assistant.id)).not.toHaveProperty('reasoning_effort')
  })

  it('a turn’s run.reasoning_effort reaches the model (raw HTTP: turns are Threadwork’s extension)', async () => {
    const assistant = await stack.assistant()
    const res = await fetch(`${stack.api.baseURL}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: 'hi', run: { reasoning_effort: 'minimal' } }),
    })
    expect(res.status).toBe(202)
    const turn = (await res.json()) as { run_id: string }
    await expect.poll(() => stack.upstream.requests.find((r) => r.runId === turn.run_id)?.body.reasoning_effort, { timeout: 30_000 }).toBe('minimal')
  })
})

describe('max_completion_tokens', () => {
  it('is sent as max_completion_tokens (OpenAI’s reasoning models refuse max_tokens)', async () => {
    const assistant = await stack.assistant()
    const body = await modelRequestOf(assistant.id, { max_completion_tokens: 300 })
    expect(body.max_completion_tokens).toBe(300)
    expect(body).not.toHaveProperty('max_tokens')
  })

  it('is sent as max_tokens to a provider route marked maxTokensParam: "max_tokens"', async () => {
    const assistant = await stack.assistant({ model: OLD_SERVER_MODEL })
    const body = await modelRequestOf(assistant.id, { max_completion_tokens: 300 })
    expect(body.max_tokens).toBe(300)
    expect(body).not.toHaveProperty('max_completion_tokens')
  })
})

describe('the audit: every other create-run and assistant field that shapes the answer', () => {
  it('reaches the model under its own name', async () => {
    const tool = { type: 'function' as const, function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: {} } } }
    const schema = { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true }
    const assistant = await stack.assistant({ instructions: 'Be brief.', temperature: 0.3, top_p: 0.9, tools: [tool] })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'first' }, { role: 'user', content: 'second' }] })
    const run = await settled(
      client,
      await client.beta.threads.runs.create(thread.id, {
        assistant_id: assistant.id,
        additional_instructions: 'Answer in French.',
        additional_messages: [{ role: 'user', content: 'third' }],
        temperature: 0.5,
        truncation_strategy: { type: 'last_messages', last_messages: 2 },
        tool_choice: 'none',
        response_format: { type: 'json_schema', json_schema: schema },
      }),
    )
    expect(run.status).toBe('completed')
    const body = stack.upstream.requests.find((r) => r.runId === run.id)!.body
    expect(body).toMatchObject({
      model: 'fake-model',
      temperature: 0.5,
      top_p: 0.9,
      response_format: { type: 'json_schema', json_schema: schema },
      messages: [
        { role: 'system', content: 'Be brief.\n\nAnswer in French.' },
        { role: 'user', content: 'second' },
        { role: 'user', content: 'third' },
      ],
    })
    expect(body.messages).toHaveLength(3)
    // tool_choice "none": the tools are not offered at all (OpenAI refuses parallel_tool_calls without tools).
    expect(body).not.toHaveProperty('tools')

    const forced = await pollRun(
      client,
      await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, tool_choice: { type: 'function', function: { name: 'lookup' } }, parallel_tool_calls: false }),
      (r) => r.status !== 'queued' && r.status !== 'in_progress',
    )
    expect(forced.status).toBe('requires_action')
    const forcedBody = stack.upstream.requests.find((r) => r.runId === forced.id)!.body
    expect(forcedBody).toMatchObject({
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
    })
    await client.beta.threads.runs.cancel(forced.id, { thread_id: thread.id })
  })
})
