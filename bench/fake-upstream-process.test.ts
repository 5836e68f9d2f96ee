// bench/fake-upstream-process.ts run by hand: the fake model a new user without one points pnpm start at.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it, onTestFinished } from 'vitest'

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
