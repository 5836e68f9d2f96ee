import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeUpstream } from './fake-upstream.js'
import { fileSearchCall, sourceMarkersIn, toolScript } from './fake-upstream-tools.js'
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
