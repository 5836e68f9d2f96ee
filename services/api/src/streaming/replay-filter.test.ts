import { AssistantStream } from 'openai/lib/AssistantStream'
import { describe, expect, it } from 'vitest'
import type { LiveEntry } from './event-hub.js'
import { type SseEvent, createReplayFilter } from './replay-filter.js'

/** A run's live stream as the worker and the commits write it, with ids in order. */
function log() {
  const entries: LiveEntry[] = []
  let seq = 0
  const add = (event: string, data: unknown, fence: number | null) => {
    entries.push({ id: `1000-${seq++}`, event, data: JSON.stringify(data), fence })
  }
  const step = (id: string, type: 'message_creation' | 'tool_calls', status = 'in_progress') => ({
    id,
    object: 'thread.run.step',
    run_id: 'run_1',
    type,
    status,
    step_details: type === 'tool_calls' ? { type, tool_calls: [] } : { type, message_creation: { message_id: 'msg_1' } },
  })
  const message = (text: string | null, status = 'in_progress') => ({
    id: 'msg_1',
    object: 'thread.message',
    role: 'assistant',
    status,
    content: text === null ? [] : [{ type: 'text', text: { value: text, annotations: [] } }],
  })
  const run = (status: string) => ({ id: 'run_1', object: 'thread.run', status })
  return {
    entries,
    runEvent: (status: string, fence: number | null = null) => add(`thread.run.${status}`, run(status), fence),
    openMessage(fence: number) {
      add('thread.run.step.created', step('step_m', 'message_creation'), fence)
      add('thread.run.step.in_progress', step('step_m', 'message_creation'), fence)
      add('thread.message.created', message(null), fence)
      add('thread.message.in_progress', message(null), fence)
    },
    text(fence: number, ...parts: string[]) {
      for (const [i, value] of parts.entries()) {
        add(
          'thread.message.delta',
          {
            id: 'msg_1',
            object: 'thread.message.delta',
            delta: { content: [{ index: 0, type: 'text', text: i === 0 ? { value, annotations: [] } : { value } }] },
          },
          fence,
        )
      }
    },
    textMore(fence: number, value: string) {
      add('thread.message.delta', { id: 'msg_1', object: 'thread.message.delta', delta: { content: [{ index: 0, type: 'text', text: { value } }] } }, fence)
    },
    closeMessage(text: string, fence: number) {
      add('thread.message.completed', message(text, 'completed'), fence)
      add('thread.run.step.completed', step('step_m', 'message_creation', 'completed'), fence)
    },
    openTools(fence: number) {
      add('thread.run.step.created', step('step_t', 'tool_calls'), fence)
      add('thread.run.step.in_progress', step('step_t', 'tool_calls'), fence)
    },
    call(fence: number, index: number, id: string | null, args: string, name = 'get_weather') {
      const fn = id ? { name, arguments: args, output: null } : { arguments: args }
      add(
        'thread.run.step.delta',
        {
          id: 'step_t',
          object: 'thread.run.step.delta',
          delta: { step_details: { type: 'tool_calls', tool_calls: [{ index, ...(id ? { id } : {}), type: 'function', function: fn }] } },
        },
        fence,
      )
    },
  }
}

/** Runs the entries through a filter in `batches`, reading back from `entries` as Redis would. */
async function filtered(entries: LiveEntry[], batch = 1): Promise<SseEvent[]> {
  const filter = createReplayFilter(async (upTo) => entries.slice(0, entries.findIndex((e) => e.id === upTo) + 1))
  const out: SseEvent[] = []
  for (let i = 0; i < entries.length; i += batch) out.push(...(await filter.push(entries.slice(i, i + batch))))
  return out
}

/** What openai-node's AssistantStream makes of these events. */
async function sdkView(events: SseEvent[]) {
  const body = events.map((e) => `${JSON.stringify({ event: e.event, data: JSON.parse(e.data) })}\n`).join('')
  const stream = AssistantStream.fromReadableStream(new Response(body).body!)
  let text = ''
  const toolDeltas: string[] = []
  stream.on('textDelta', (d) => {
    text += d.value ?? ''
  })
  stream.on('toolCallDelta', (d) => {
    if (d.type === 'function') toolDeltas.push(d.function?.arguments ?? '')
  })
  const messages = await stream.finalMessages()
  const steps = await stream.finalRunSteps()
  return { text, messages, steps, toolDeltas, run: await stream.finalRun() }
}

const textOf = (m: { content: unknown[] }) => (m.content[0] as { text: { value: string } }).text.value

describe('replay filter', () => {
  it('passes a single attempt through untouched', async () => {
    const l = log()
    l.runEvent('created')
    l.runEvent('in_progress', 5)
    l.openMessage(5)
    l.text(5, 'Hello', ' world')
    l.closeMessage('Hello world', 5)
    l.runEvent('completed', 5)
    const out = await filtered(l.entries)
    expect(out).toEqual(l.entries.map((e) => ({ event: e.event, data: e.data })))
  })

  it('a re-run with the same text shows it once: the client gets only what it did not have', async () => {
    const l = log()
    l.runEvent('created')
    l.runEvent('in_progress', 5)
    l.openMessage(5)
    l.text(5, 'Hello', ' wor')
    // worker 5 dies; worker 6 re-runs the round from its start
    l.openMessage(6)
    l.text(6, 'Hello', ' world', '!')
    l.closeMessage('Hello world!', 6)
    l.runEvent('completed', 6)
    for (const batch of [1, 3, 100]) {
      const out = await filtered(l.entries, batch)
      expect(out.filter((e) => e.event === 'thread.message.created')).toHaveLength(1)
      const view = await sdkView(out)
      expect(view.text).toBe('Hello world!')
      expect(view.messages.map(textOf)).toEqual(['Hello world!'])
      expect(view.run.status).toBe('completed')
    }
  })

  it('a re-run that writes something else re-announces the message, so the final message is the new text', async () => {
    const l = log()
    l.runEvent('created')
    l.openMessage(5)
    l.text(5, 'Hello', ' there')
    l.openMessage(6)
    l.text(6, 'Hi', ' you')
    l.closeMessage('Hi you', 6)
    l.runEvent('completed', 6)
    const out = await filtered(l.entries)
    const view = await sdkView(out)
    expect(view.messages.map(textOf)).toEqual(['Hi you'])
  })

  it('drops what a superseded attempt still appends after the new one started', async () => {
    const l = log()
    l.runEvent('created')
    l.openMessage(5)
    l.text(5, 'A', 'B')
    l.openMessage(6)
    l.text(6, 'A')
    l.textMore(5, 'Z') // late append of the old attempt
    l.textMore(6, 'B')
    l.textMore(6, 'C')
    l.closeMessage('ABC', 6)
    l.runEvent('completed', 6)
    const view = await sdkView(await filtered(l.entries))
    expect(view.text).toBe('ABC')
    expect(view.messages.map(textOf)).toEqual(['ABC'])
  })

  it('tool calls re-run with new call ids: the step is re-announced with the new calls, never merged', async () => {
    const l = log()
    l.runEvent('created')
    l.openTools(5)
    l.call(5, 0, 'call_old', '{"ci')
    l.openTools(6)
    l.call(6, 0, 'call_new', '')
    l.call(6, 0, null, '{"city":"Paris"}')
    l.call(6, 1, 'call_two', '{}', 'get_time')
    l.runEvent('requires_action', 6)
    const out = await filtered(l.entries)
    const view = await sdkView(out)
    const step = view.steps.find((s) => s.id === 'step_t')!
    expect(step.step_details).toMatchObject({
      type: 'tool_calls',
      tool_calls: [
        { index: 0, id: 'call_new', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { index: 1, id: 'call_two', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    })
  })

  it('text before tool calls, completed, then a re-run: the message is not completed twice', async () => {
    const l = log()
    l.openMessage(5)
    l.text(5, 'Let me check.')
    l.closeMessage('Let me check.', 5)
    l.openTools(5)
    l.call(5, 0, 'call_a', '{"c')
    l.openMessage(6)
    l.text(6, 'Let me check.')
    l.closeMessage('Let me check.', 6)
    l.openTools(6)
    l.call(6, 0, 'call_b', '{"c":1}')
    l.runEvent('requires_action', 6)
    const out = await filtered(l.entries)
    expect(out.filter((e) => e.event === 'thread.message.completed')).toHaveLength(1)
    expect(out.filter((e) => e.event === 'thread.run.step.completed')).toHaveLength(1)
    const view = await sdkView(out)
    expect(view.messages.map(textOf)).toEqual(['Let me check.'])
    expect(view.steps.find((s) => s.id === 'step_t')!.step_details).toMatchObject({ tool_calls: [{ id: 'call_b', function: { arguments: '{"c":1}' } }] })
  })
})
