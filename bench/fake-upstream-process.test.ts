// bench/fake-upstream-process.ts run by hand: the fake model a new user without one points pnpm start at.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { RecordedRequest } from '@threadwork/test-utils'
import { describe, expect, it, onTestFinished } from 'vitest'
import { byHandReply } from './fake-upstream-process.js'

it('run directly, it serves the fake model until stopped and prints its UPSTREAM_BASE_URL (the README sample’s model included)', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fake-upstream-process.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  onTestFinished(() => void child.kill('SIGKILL'))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(/UPSTREAM_BASE_URL=(http:\/\/127\.0\.0\.1:\d+\/v1)/)
      if (m) resolve(m[1]!)
    })
    void exited.then((code) => reject(new Error(`exited (${code}) before printing its URL: ${out}`)))
  })
  const models = (await (await fetch(`${url}/models`)).json()) as { data: { id: string }[] }
  expect(models.data.map((m) => m.id)).toContain('deepseek-chat')
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hello!' }] }),
  })
  const body = (await res.json()) as { choices: { message: { content: string } }[] }
  expect(body.choices[0]!.message.content).toBe('Echo: Hello! [context: 1 messages]')
  child.kill('SIGTERM')
  expect(await exited).toBe(0)
}, 60_000)

it('run directly and offered file_search, it searches with the question, then answers citing the first source it was handed', async () => {
  // A new user without a model sees file_search work end to end (search step, citation) against it.
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fake-upstream-process.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  onTestFinished(() => void child.kill('SIGKILL'))
  let out = ''
  const url = await new Promise<string>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(/UPSTREAM_BASE_URL=(http:\/\/127\.0\.0\.1:\d+\/v1)/)
      if (m) resolve(m[1]!)
    })
  })
  const tools = [{ type: 'function', function: { name: 'file_search', parameters: { type: 'object', properties: { queries: { type: 'array' } } } } }]
  const complete = async (messages: unknown[]) => {
    const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages, tools }) })
    return ((await res.json()) as { choices: { message: { content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[] } }[] }).choices[0]!.message
  }
  const question = { role: 'user', content: 'How many attention heads?' }
  const call = await complete([question])
  expect(call.tool_calls?.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['file_search', { queries: ['How many attention heads?'] }]])
  const answer = await complete([
    question,
    { role: 'assistant', content: null, tool_calls: call.tool_calls!.map((c) => ({ ...c, type: 'function' })) },
    { role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: '【0:0†transformer.md】\nThe base model uses 8 attention heads.' },
  ])
  expect(answer.content).toMatch(/【0:0†transformer\.md】$/)
}, 60_000)

describe('byHandReply: the by-hand model shows function calling and code_interpreter', () => {
  const fn = (name: string, parameters?: unknown) => ({ type: 'function', function: { name, ...(parameters ? { parameters } : {}) } })
  const weather = fn('get_weather', {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' }, hourly: { type: 'boolean' }, note: { type: 'string' } },
    required: ['city', 'unit', 'days', 'hourly'],
  })
  const time = fn('get_time')
  // How the worker offers the built-ins (services/worker/src/tools: CODE_FUNCTION, FILE_SEARCH_FUNCTION).
  const python = fn('python', { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] })
  const fileSearch = fn('file_search', { type: 'object', properties: { queries: { type: 'array' } } })
  const reply = (content: string, tools: unknown[], extra: Record<string, unknown> = {}, after: unknown[] = []) =>
    byHandReply({ body: { model: 'fake-model', messages: [{ role: 'user', content }, ...after], tools, ...extra } } as unknown as RecordedRequest)
  /** The conversation after the model's call `name(args)` came back with `output`. */
  const answered = (name: string, args: string, output: string) => [
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: args } }] },
    { role: 'tool', tool_call_id: 'call_1', content: output },
  ]

  it('calls the function the message names, arguments made up from its schema, then answers with its output', () => {
    expect(reply('What is the weather? Use get_weather please.', [time, weather])).toEqual({
      kind: 'tool_calls',
      calls: [{ name: 'get_weather', arguments: '{"city":"example","unit":"celsius","days":1,"hourly":true}' }],
    })
    // Named in any case; of two named, the one mentioned first.
    expect(reply('GET_TIME, then get_weather', [weather, time])).toMatchObject({ calls: [{ name: 'get_time', arguments: '{}' }] })
    // Named only as part of a longer word is not named.
    expect(reply('call get_timezone', [time])).toEqual({ kind: 'text', text: 'Echo: call get_timezone [context: 1 messages]' })
    expect(reply('use get_weather', [weather], {}, answered('get_weather', '{"city":"example"}', '{"temp":22}'))).toEqual({
      kind: 'text',
      text: 'get_weather returned: {"temp":22}',
    })
  })

  it('unnamed, it calls the first function only when tool_choice forces one; otherwise, or with tool_choice none, it echoes', () => {
    expect(reply('hi', [weather, time])).toEqual({ kind: 'text', text: 'Echo: hi [context: 1 messages]' })
    expect(reply('hi', [weather, time], { tool_choice: 'auto' })).toEqual({ kind: 'text', text: 'Echo: hi [context: 1 messages]' })
    expect(reply('hi', [python, time, weather], { tool_choice: 'required' })).toMatchObject({ kind: 'tool_calls', calls: [{ name: 'get_time' }] })
    // A named tool_choice forces that function, even over one the message names.
    expect(reply('get_time?', [time, weather], { tool_choice: { type: 'function', function: { name: 'get_weather' } } })).toMatchObject({
      calls: [{ name: 'get_weather' }],
    })
    expect(reply('use get_weather', [weather], { tool_choice: 'none' })).toEqual({ kind: 'text', text: 'Echo: use get_weather [context: 1 messages]' })
    // Forced, it still answers once the outputs are back (not calling again forever).
    expect(reply('hi', [time], { tool_choice: 'required' }, answered('get_time', '{}', '12:00'))).toEqual({ kind: 'text', text: 'get_time returned: 12:00' })
  })

  it('offered code_interpreter, it runs the message’s fenced code block, then answers with its output; without one it echoes', () => {
    const ask = 'Please run this:\n```python\nimport math\nprint(math.sqrt(16))\n```\nThanks'
    expect(reply(ask, [python])).toEqual({ kind: 'tool_calls', calls: [{ name: 'python', arguments: JSON.stringify({ code: 'import math\nprint(math.sqrt(16))' }) }] })
    expect(reply('```\nprint(2 + 2)\n```', [time, python])).toMatchObject({ calls: [{ name: 'python', arguments: '{"code":"print(2 + 2)"}' }] })
    expect(reply('what is 2 + 2?', [python])).toEqual({ kind: 'text', text: 'Echo: what is 2 + 2? [context: 1 messages]' })
    // A block in another language is not Python to run.
    expect(reply('```js\nconsole.log(1)\n```', [python])).toMatchObject({ kind: 'text' })
    // Python is not one of the user's functions: tool_choice required does not call it without code.
    expect(reply('hi', [python], { tool_choice: 'required' })).toEqual({ kind: 'text', text: 'Echo: hi [context: 1 messages]' })
    expect(reply(ask, [python], {}, answered('python', '{"code":"…"}', '4.0\n'))).toEqual({ kind: 'text', text: "The code's output: 4.0" })
  })

  it('file_search is as before: it searches with the question, then echoes and cites the first source', () => {
    expect(reply('How many heads?', [fileSearch])).toEqual({ kind: 'tool_calls', calls: [{ name: 'file_search', arguments: '{"queries":["How many heads?"]}' }] })
    expect(reply('How many heads?', [fileSearch, python])).toMatchObject({ calls: [{ name: 'file_search' }] })
    expect(reply('How many heads?', [fileSearch], {}, answered('file_search', '{}', '【0:0†t.md】\n8 heads'))).toEqual({
      kind: 'text',
      text: 'Echo: How many heads? [context: 3 messages] 【0:0†t.md】',
    })
    // Without tools it is the echo of the tests' fake.
    expect(reply('Hello!', [])).toEqual({ kind: 'text', text: 'Echo: Hello! [context: 1 messages]' })
  })
})
