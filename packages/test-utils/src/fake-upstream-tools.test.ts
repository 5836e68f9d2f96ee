import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeUpstream } from './fake-upstream.js'
import { fencedCode, fileSearchCall, placeholderArguments, sourceMarkersIn, toolRoundOf, toolScript } from './fake-upstream-tools.js'
import type { FakeUpstream } from './fake-upstream-types.js'

let upstream: FakeUpstream
let client: OpenAI
beforeAll(async () => {
  upstream = await startFakeUpstream()
  client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 })
})
afterAll(() => upstream.close())

const tools = [{ type: 'function' as const, function: { name: 'file_search', parameters: { type: 'object' } } }]

describe('toolScript', () => {
  it('calls the scripted tool, then answers from the tool output it was handed, following the conversation', async () => {
    upstream.respond(toolScript([{ call: fileSearchCall('pump pressure') }, { answer: ({ outputs }) => `40 bar ${sourceMarkersIn(outputs[0] ?? '')[0]}` }]))
    const first = await client.chat.completions.create({ model: 'fake-model', tools, messages: [{ role: 'user', content: 'pressure?' }] })
    const call = first.choices[0]!.message.tool_calls![0]!
    expect(call.type === 'function' && call.function).toMatchObject({ name: 'file_search', arguments: '{"queries":["pump pressure"]}' })

    const history = [
      { role: 'user' as const, content: 'pressure?' },
      { role: 'assistant' as const, content: null, tool_calls: [call] },
      { role: 'tool' as const, tool_call_id: call.id, content: '【0:0†manual.md】\nThe pump runs at 40 bar.' },
    ]
    const second = await client.chat.completions.create({ model: 'fake-model', tools, messages: history })
    expect(second.choices[0]!.message.content).toBe('40 bar 【0:0†manual.md】')
    // The same request again (a re-run after a crash) gets the same answer, not the next step.
    const again = await client.chat.completions.create({ model: 'fake-model', tools, messages: history })
    expect(again.choices[0]!.message.content).toBe('40 bar 【0:0†manual.md】')
    // A new user turn starts the script over.
    const next = await client.chat.completions.create({ model: 'fake-model', tools, messages: [...history, { role: 'assistant', content: 'x' }, { role: 'user', content: 'again' }] })
    expect(next.choices[0]!.finish_reason).toBe('tool_calls')
  })
})

describe('placeholderArguments', () => {
  it('gives each required property a placeholder by its schema, and leaves optional ones out', () => {
    const parameters = {
      type: 'object',
      properties: {
        s: { type: 'string' },
        e: { type: 'string', enum: ['b', 'a'] },
        n: { type: 'number' },
        i: { type: 'integer' },
        b: { type: 'boolean' },
        a: { type: 'array', items: { type: 'string' } },
        o: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] },
        nullable: { type: ['string', 'null'] },
        untyped: {},
        optional: { type: 'string' },
      },
      required: ['s', 'e', 'n', 'i', 'b', 'a', 'o', 'nullable', 'untyped', 'missing'],
    }
    expect(JSON.parse(placeholderArguments(parameters))).toEqual({
      s: 'example',
      e: 'b',
      n: 1,
      i: 1,
      b: true,
      a: [],
      o: { x: 1 },
      nullable: 'example',
      untyped: 'example',
      missing: 'example',
    })
  })

  it('is {} without parameters, required, or a schema it can read', () => {
    for (const p of [undefined, null, 'x', { type: 'object', properties: { a: { type: 'string' } } }, { required: 'a' }]) expect(placeholderArguments(p)).toBe('{}')
  })
})

describe('fencedCode', () => {
  it('finds the first Python or untagged fenced block, without its fences', () => {
    expect(fencedCode('run:\n```python\nx = 1\nprint(x)\n```\nok')).toBe('x = 1\nprint(x)')
    expect(fencedCode('```\nprint(1)\n```')).toBe('print(1)')
    expect(fencedCode('```print(2)```')).toBe('print(2)')
    expect(fencedCode('```sh\nls\n```\n```py\nprint(3)\n```')).toBe('print(3)')
    expect(fencedCode('no code here')).toBeNull()
    expect(fencedCode('```js\nconsole.log(1)\n```')).toBeNull()
  })
})

describe('toolRoundOf', () => {
  it('pairs the previous round’s calls with their outputs by call id', () => {
    const round = toolRoundOf({
      model: 'm',
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
            { id: 'b', type: 'function', function: { name: 'g', arguments: '{"x":1}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'b', content: 'B' },
        { role: 'tool', tool_call_id: 'a', content: 'A' },
      ],
    })
    expect(round.round).toBe(1)
    expect(round.calls).toEqual([
      { name: 'f', arguments: '{}', output: 'A' },
      { name: 'g', arguments: '{"x":1}', output: 'B' },
    ])
  })
})
