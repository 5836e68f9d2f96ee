/**
 * The by-hand fake model (bench/fake-upstream-process.ts, README "Two commands") behind the real
 * API and worker, driven by the official node SDK as a new user without a model would: function
 * calling reaches `requires_action`, and the submitted output comes back in the final message.
 */
import { startFakeUpstream } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { byHandReply } from '../../bench/fake-upstream-process.js'
import { type RunStack, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI

beforeAll(async () => {
  stack = await startRunStack({ upstream: await startFakeUpstream({ handler: byHandReply }) })
  client = stack.client
})
afterAll(() => stack?.close())

it('a function the message names is called with arguments from its schema; the submitted output is in the answer', async () => {
  const assistant = await stack.assistant({
    tools: [
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'] },
        },
      },
    ],
  })
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'What is the weather in Paris? Use get_weather.' }] })
  const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
  expect(run.status).toBe('requires_action')
  const calls = run.required_action?.submit_tool_outputs.tool_calls ?? []
  expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['get_weather', { city: 'example', unit: 'celsius' }]])

  const done = await client.beta.threads.runs.submitToolOutputsAndPoll(
    run.id,
    { thread_id: thread.id, tool_outputs: [{ tool_call_id: calls[0]!.id, output: '{"temp":22}' }] },
    { pollIntervalMs: 100 },
  )
  expect(done.status).toBe('completed')
  const [reply] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
  expect(textOf(reply!)).toBe('get_weather returned: {"temp":22}')
})
