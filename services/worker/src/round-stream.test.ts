import type { Run } from '@threadwork/domain'
import { describe, expect, it, vi } from 'vitest'
import type { LiveEvents } from './live-events.js'
import { createRoundStream } from './round-stream.js'

const run = { id: 'run_1', thread_id: 'thread_1', assistant_id: 'asst_1', expires_at: null, parallel_tool_calls: true } as unknown as Run

function setup(r: Run = run, builtins: ReadonlyMap<string, 'file_search' | 'code_interpreter'> = new Map()) {
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are checked field by field
  const emitted: { event: string; data: any; fence: number }[] = []
  const live: LiveEvents = {
    emit: (_t, _r, event, data, fence) => void emitted.push({ event, data, fence }),
    emitAll: (_t, _r, events, fence) =>
      void emitted.push(...events.map((e) => ({ event: e.event, data: e.json !== undefined ? JSON.parse(e.json) : e.data, fence }))),
  }
  const stream = createRoundStream(live, r, { messageId: 'msg_1', stepId: 'step_m', toolStepId: 'step_t', fence: 7 }, builtins)
  const calls = () =>
    emitted
      .filter((e) => e.event === 'thread.run.step.delta')
      .map((e) => e.data.delta.step_details.tool_calls[0] as { index: number; id?: string; function: { name?: string; arguments: string } })
  return { emitted, stream, calls }
}
const call = (index: number, args: string, id?: string, name?: string) => ({
  index,
  type: 'function' as const,
  ...(id ? { id } : {}),
  function: { ...(name ? { name } : {}), arguments: args },
})

describe('round stream', () => {
  it('text: returns the first append (opening events and first delta) for the caller to hold the rest behind', () => {
    const appended = Promise.resolve()
    const emitted: string[] = []
    const live: LiveEvents = {
      emit: (_t, _r, event) => void emitted.push(event),
      emitAll: (_t, _r, events) => {
        emitted.push(...events.map((e) => e.event))
        return appended
      },
    }
    const stream = createRoundStream(live, run, { messageId: 'msg_1', stepId: 'step_m', toolStepId: 'step_t', fence: 7 })
    expect(stream.text('Hel')).toBe(appended)
    expect(stream.text('lo')).toBeUndefined()
    expect(emitted.at(-1)).toBe('thread.message.delta')
  })

  it('text: opening events prepared ahead are, as JSON, what the first delta builds without them', () => {
    const appended = (prepare: boolean, at: number) => {
      vi.useFakeTimers({ now: 1_700_000_000_000 })
      try {
        const out: { event: string; json: string }[] = []
        const live: LiveEvents = {
          emit: () => undefined,
          emitAll: (_t, _r, events) => void out.push(...events.map((e) => ({ event: e.event, json: e.json ?? JSON.stringify(e.data) }))),
        }
        const meta = { ...run, expires_at: 1_700_000_600 } as unknown as Run
        const stream = createRoundStream(live, meta, { messageId: 'msg_1', stepId: 'step_m', toolStepId: 'step_t', fence: 7 })
        if (prepare) stream.prepare()
        vi.setSystemTime(at)
        stream.text('Hel')
        stream.text('lo')
        return out
      } finally {
        vi.useRealTimers()
      }
    }
    // The first delta in a later second than the preparation: the second it arrived in.
    const plain = appended(false, 1_700_000_002_500)
    const prepared = appended(true, 1_700_000_002_500)
    expect(prepared).toEqual(plain)
    expect(prepared.map((e) => e.event)).toEqual([
      'thread.run.step.created',
      'thread.run.step.in_progress',
      'thread.message.created',
      'thread.message.in_progress',
      'thread.message.delta',
    ])
    expect(JSON.parse(prepared[0]!.json).created_at).toBe(1_700_000_002)
    expect(JSON.parse(prepared[2]!.json).created_at).toBe(1_700_000_002)
  })

  it('settled: waits for the latest append of the round, none before the first', async () => {
    const replies: (() => void)[] = []
    const live: LiveEvents = {
      emit: () => new Promise<void>((r) => replies.push(r)),
      emitAll: () => new Promise<void>((r) => replies.push(r)),
    }
    const stream = createRoundStream(live, run, { messageId: 'msg_1', stepId: 'step_m', toolStepId: 'step_t', fence: 7 })
    expect(stream.settled()).toBeUndefined()
    stream.text('Hel')
    stream.text('lo')
    let done = false
    void stream.settled()!.then(() => (done = true))
    replies[0]!()
    await new Promise((r) => setTimeout(r, 5))
    expect(done).toBe(false)
    replies[1]!()
    await vi.waitFor(() => expect(done).toBe(true))
  })

  it('text: opens step and message once, first delta with annotations, every entry fenced', () => {
    const { emitted, stream } = setup()
    stream.text('Hel')
    stream.text('lo')
    expect(emitted.map((e) => e.event)).toEqual([
      'thread.run.step.created',
      'thread.run.step.in_progress',
      'thread.message.created',
      'thread.message.in_progress',
      'thread.message.delta',
      'thread.message.delta',
    ])
    expect(emitted[4]!.data.delta.content[0].text).toEqual({ value: 'Hel', annotations: [] })
    expect(emitted[5]!.data.delta.content[0].text).toEqual({ value: 'lo' })
    expect(emitted.every((e) => e.fence === 7)).toBe(true)
    const closing = stream.finishMessage({ status: 'completed', content: [] } as never, { id: 'step_m' } as never)
    expect(closing.map((e) => e.event)).toEqual(['thread.message.completed', 'thread.run.step.completed'])
  })

  it('text then a tool call: the message closes live before the tool step opens', () => {
    const { emitted, stream } = setup()
    stream.text('Checking.')
    stream.toolCall(call(0, '', 'call_a', 'f'))
    expect(emitted.slice(-5).map((e) => e.event)).toEqual([
      'thread.message.completed',
      'thread.run.step.completed',
      'thread.run.step.created',
      'thread.run.step.in_progress',
      'thread.run.step.delta',
    ])
    expect(stream.finishToolCalls()).toEqual([])
  })

  it('interleaved calls go out one after another: each index contiguous, header first', () => {
    const { stream, calls } = setup()
    stream.toolCall(call(0, '', 'A', 'f'))
    stream.toolCall(call(1, '', 'B', 'g'))
    stream.toolCall(call(2, '{"z"', 'C', 'h'))
    stream.toolCall(call(0, '{"a"'))
    stream.toolCall(call(1, '{"b":'))
    stream.toolCall(call(0, ':1}')) // call 0 complete: call 1 goes out, then live
    stream.toolCall(call(2, ':3}'))
    stream.toolCall(call(1, '2}')) // call 1 complete: call 2 goes out
    stream.finishToolCalls()
    const out = calls()
    expect(out.map((c) => c.index)).toEqual([0, 0, 0, 1, 1, 2])
    const byIndex = (i: number) => out.filter((c) => c.index === i)
    expect(
      byIndex(0)
        .map((c) => c.function.arguments)
        .join(''),
    ).toBe('{"a":1}')
    expect(byIndex(1)[0]).toEqual({ index: 1, id: 'B', type: 'function', function: { name: 'g', arguments: '{"b":', output: null } })
    expect(
      byIndex(1)
        .map((c) => c.function.arguments)
        .join(''),
    ).toBe('{"b":2}')
    expect(byIndex(2)).toEqual([{ index: 2, id: 'C', type: 'function', function: { name: 'h', arguments: '{"z":3}', output: null } }])
  })

  it('calls whose arguments never become JSON are flushed in index order at the end', () => {
    const { stream, calls } = setup()
    stream.toolCall(call(0, '', 'A', 'f'))
    stream.toolCall(call(1, '', 'B', 'g'))
    stream.toolCall(call(0, 'not json'))
    stream.finishToolCalls()
    expect(calls().map((c) => [c.index, c.id, c.function.arguments])).toEqual([
      [0, 'A', ''],
      [0, undefined, 'not json'],
      [1, 'B', ''],
    ])
  })

  it('parallel_tool_calls: false shows only the first call, whatever the provider sends', () => {
    const { stream, calls } = setup({ ...run, parallel_tool_calls: false })
    stream.toolCall(call(0, '{}', 'A', 'f'))
    stream.toolCall(call(1, '{}', 'B', 'g'))
    stream.finishToolCalls()
    expect(calls().map((c) => c.index)).toEqual([0])
  })

  it('abandon closes a tool step shown live, once', () => {
    const { stream } = setup()
    expect(stream.abandon('failed')).toEqual([])
    stream.toolCall(call(0, '{}', 'A', 'f'))
    const closing = stream.abandon('cancelled')
    expect(closing).toHaveLength(1)
    expect(closing[0]).toMatchObject({ event: 'thread.run.step.cancelled', data: { id: 'step_t', status: 'cancelled', cancelled_at: expect.any(Number) } })
    expect(stream.abandon('cancelled')).toEqual([])
  })

  it('built-in calls stream in their own shapes: code as input deltas while it is written, a search as an empty object', () => {
    const { emitted, stream } = setup(
      run,
      new Map([
        ['python', 'code_interpreter'],
        ['file_search', 'file_search'],
      ]),
    )
    const args = JSON.stringify({ code: 'x = 6 * 7\nprint(x)' })
    stream.toolCall(call(0, '', 'A', 'python'))
    for (const piece of args.match(/.{1,4}/gs) ?? []) stream.toolCall(call(0, piece))
    stream.toolCall(call(1, '', 'B', 'file_search'))
    stream.toolCall(call(1, '{"queries":["q"]}'))
    stream.builtinDelta(0, 'code_interpreter', { outputs: [{ index: 0, type: 'logs', logs: '42\n' }] })
    stream.finishToolCalls()
    const deltas = emitted.filter((e) => e.event === 'thread.run.step.delta').map((e) => e.data.delta.step_details.tool_calls[0])
    expect(deltas[0]).toEqual({ index: 0, id: 'A', type: 'code_interpreter', code_interpreter: { input: '', outputs: [] } })
    const code = deltas.filter((d) => d.index === 0 && d.code_interpreter.input !== undefined)
    expect(code.map((d) => d.code_interpreter.input).join('')).toBe('x = 6 * 7\nprint(x)')
    expect(code.length).toBeGreaterThan(3)
    expect(deltas.filter((d) => d.index === 1)).toEqual([{ index: 1, id: 'B', type: 'file_search', file_search: {} }])
    expect(deltas.at(-1)).toEqual({ index: 0, type: 'code_interpreter', code_interpreter: { outputs: [{ index: 0, type: 'logs', logs: '42\n' }] } })
    expect(emitted.some((e) => JSON.stringify(e.data).includes('"function"'))).toBe(false)
  })

  it('a reply with citations and images sends them in one delta before it completes, its text part with an empty value (docs handlers print every delta.value)', () => {
    const { stream } = setup()
    stream.text('40 bar 【0:0†m】')
    const annotation = { type: 'file_citation', text: '【0:0†m】', file_citation: { file_id: 'file-1' }, start_index: 7, end_index: 14 }
    const message = {
      id: 'msg_1',
      status: 'completed',
      content: [
        { type: 'text', text: { value: '40 bar 【0:0†m】', annotations: [annotation] } },
        { type: 'image_file', image_file: { file_id: 'file-img' } },
      ],
    }
    const closing = stream.finishMessage(message as never, { id: 'step_m' } as never)
    expect(closing.map((e) => e.event)).toEqual(['thread.message.delta', 'thread.message.completed', 'thread.run.step.completed'])
    expect((closing[0]!.data as { delta: unknown }).delta).toEqual({
      content: [
        { index: 0, type: 'text', text: { value: '', annotations: [{ index: 0, ...annotation }] } },
        { index: 1, type: 'image_file', image_file: { file_id: 'file-img' } },
      ],
    })
  })
})
