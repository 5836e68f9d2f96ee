import { type Message, type Run, type RunStep, nowSeconds } from '@threadwork/domain'
import type { ToolCallDelta } from '@threadwork/model-client'
import { APPEND_WAIT_MS, type LiveEventIn, type LiveEvents, atMost } from './live-events.js'
import { emptyAssistantMessage, stepOf } from './run-objects.js'
import type { BuiltinType } from './tools/builtin-tool.js'
import { createJsonStringFieldReader } from './tools/json-string-field.js'

/** Where `prepare` splits the opening events' JSON: their `created_at` while the second is not known yet. */
const AHEAD_AT = '"created_at":-1'

/** One event of a run's live stream. */
export type LiveEvent = { event: string; data: unknown }

/** One model round's live events: see {@link createRoundStream}. */
export interface RoundStream {
  readonly toolStepId: string
  /**
   * Appends a text delta. The first one returns the promise of its append (with the events
   * opening the message): the caller holds the rest of the reply until it settles, so a reply
   * that arrived at once does not compete with its own first delta for the CPU (issue 14).
   */
  text(delta: string): Promise<void> | undefined
  /**
   * Serialises the events opening the text message ahead of its first delta (while the model is
   * still thinking): the first delta then costs one `JSON.stringify` of itself, not five (issue 14:
   * ~0.07 ms of the worker's CPU on the relay's path). Only for streamed runs; idempotent.
   */
  prepare(): void
  /**
   * Resolves once Redis has the round's appends so far (at most {@link APPEND_WAIT_MS} later);
   * undefined when there were none.
   */
  settled(): Promise<void> | undefined
  toolCall(delta: ToolCallDelta): void
  /**
   * A delta of built-in call `index` of the tool_calls step (`{outputs: [...]}` for code_interpreter),
   * e.g. outputs as the sandbox produces them.
   */
  builtinDelta(index: number, type: BuiltinType, body: Record<string, unknown>): void
  /** Sends the tool-call deltas still held back; returns the events closing a text message still open. */
  finishToolCalls(): LiveEvent[]
  /** The events ending the round's message (opening it first if the reply was empty). */
  finishMessage(message: Message, step: RunStep): LiveEvent[]
  /** The tool_calls step shown live but never stored, closed like the run. */
  abandon(to: 'failed' | 'cancelled' | 'expired'): LiveEvent[]
}

interface HeldCall {
  id?: string
  name?: string
  args: string
}

/**
 * OpenAI's streaming events for one model round, appended as deltas arrive (fire-and-forget,
 * tagged with the claim's fence). The events that close the round go into the commit that ends
 * it (`finishToolCalls`, `finishMessage`, `abandon` return them), so they are written atomically
 * with the state. A re-run after a crash uses the same message and step ids, so the API's reader
 * can line the new attempt up with what the client already saw.
 *
 * Tool calls are streamed one after another, as OpenAI does: the SDK's `toolCallCreated` fires
 * whenever the delta index changes, so interleaved calls (llama.cpp sends a fragment of every call
 * per chunk) would announce each call many times. The call being streamed goes out live; the
 * others are held until its arguments are complete JSON (or the round ends), then sent as one
 * delta each and the next one goes live.
 */
export function createRoundStream(
  live: LiveEvents,
  run: Run,
  ids: { messageId: string; stepId: string; toolStepId: string; fence: number },
  /** Function names that stand for built-in tools: their calls stream in the built-in's shape. */
  builtins: ReadonlyMap<string, BuiltinType> = new Map(),
): RoundStream {
  const { messageId, stepId, toolStepId, fence } = ids
  /** The round's latest append (its reply from Redis). */
  let last: Promise<void> | undefined
  const emit = (event: string, data: unknown): void => {
    last = live.emit(run.thread_id, run.id, event, data, fence) ?? last
  }
  let messageOpen = false
  let messageClosed = false
  let toolStepOpen = false
  let text = ''
  /** The call streaming live (-1: none yet), its arguments so far, the calls held back, those done. */
  let current = -1
  let currentArgs = ''
  const held = new Map<number, HeldCall>()
  const done = new Set<number>()

  const messageStep = (t: number) => stepOf(run, stepId, t, { type: 'message_creation', message_creation: { message_id: messageId } }, null)
  /** The events opening the text message and its step, once; [] if already open. */
  const openingEvents = (): LiveEvent[] => {
    if (messageOpen) return []
    messageOpen = true
    return openingAt(nowSeconds())
  }
  /** `prepare`'s opening events: each one's JSON split where its `created_at` goes (the first delta's second). */
  let ahead: { event: string; parts: string[] }[] | null = null
  const openingAt = (t: number): LiveEvent[] => {
    const step: RunStep = { ...messageStep(t), status: 'in_progress', completed_at: null }
    const message: Message = { ...emptyAssistantMessage(run, messageId, t), status: 'in_progress', completed_at: null }
    return [
      { event: 'thread.run.step.created', data: step },
      { event: 'thread.run.step.in_progress', data: step },
      { event: 'thread.message.created', data: message },
      { event: 'thread.message.in_progress', data: message },
    ]
  }
  const openMessage = (): void => {
    for (const e of openingEvents()) emit(e.event, e.data)
  }
  /** Events closing the text message (text before tool calls), once; [] if none is open. */
  const closeMessage = (): LiveEvent[] => {
    if (!messageOpen || messageClosed) return []
    messageClosed = true
    const t = nowSeconds()
    const message: Message = { ...emptyAssistantMessage(run, messageId, t), content: [{ type: 'text', text: { value: text, annotations: [] } }] }
    return [
      { event: 'thread.message.completed', data: message },
      { event: 'thread.run.step.completed', data: messageStep(t) },
    ]
  }
  /** What each call index is (known from its first delta's name), with the reader of a code call's `code`. */
  const kinds = new Map<number, { type: BuiltinType | 'function'; code?: ReturnType<typeof createJsonStringFieldReader> }>()
  const stepDelta = (call: Record<string, unknown>) =>
    emit('thread.run.step.delta', { id: toolStepId, object: 'thread.run.step.delta', delta: { step_details: { type: 'tool_calls', tool_calls: [call] } } })
  const emitCall = (index: number, id: string | undefined, name: string | undefined, args: string): void => {
    let kind = kinds.get(index)
    if (!kind && name !== undefined) {
      const type = builtins.get(name) ?? 'function'
      kind = type === 'code_interpreter' ? { type, code: createJsonStringFieldReader('code') } : { type }
      kinds.set(index, kind)
    }
    if (kind?.type === 'file_search') {
      // OpenAI shows a search call as an empty object until the step completes with its results.
      if (id) stepDelta({ index, id, type: 'file_search', file_search: {} })
      return
    }
    if (kind?.type === 'code_interpreter') {
      // The code streams as `code_interpreter.input` deltas while the model writes it.
      const input = kind.code!.push(args)
      if (id) stepDelta({ index, id, type: 'code_interpreter', code_interpreter: { input, outputs: [] } })
      else if (input) stepDelta({ index, type: 'code_interpreter', code_interpreter: { input } })
      return
    }
    const fn = { ...(name !== undefined ? { name } : {}), arguments: args, ...(id ? { output: null } : {}) }
    emit('thread.run.step.delta', {
      id: toolStepId,
      object: 'thread.run.step.delta',
      delta: { step_details: { type: 'tool_calls', tool_calls: [{ index, ...(id ? { id } : {}), type: 'function', function: fn }] } },
    })
  }
  /** The live call is complete: the lowest held call goes out in one delta and becomes live. */
  const advance = (): void => {
    while (current >= 0 && isCompleteJson(currentArgs)) {
      done.add(current)
      const next = [...held.keys()].sort((a, b) => a - b)[0]
      if (next === undefined) {
        current = -1
        return
      }
      const call = held.get(next)!
      held.delete(next)
      emitCall(next, call.id, call.name, call.args)
      current = next
      currentArgs = call.args
    }
  }

  return {
    toolStepId,
    settled() {
      return last && atMost(last, APPEND_WAIT_MS)
    },
    prepare() {
      if (messageOpen || ahead !== null) return
      // A placeholder second: `"created_at":-1` can only be the objects' own field (a string value
      // holding it would have its quotes escaped), so splitting there and joining with the real
      // second gives the JSON that stringifying at that second gives.
      ahead = openingAt(-1).map((e) => ({ event: e.event, parts: JSON.stringify(e.data).split(AHEAD_AT) }))
    },
    text(delta) {
      if (!messageOpen && ahead !== null) {
        messageOpen = true
        const at = `"created_at":${nowSeconds()}`
        const events: LiveEventIn[] = ahead.map((e) => ({ event: e.event, json: e.parts.join(at) }))
        ahead = null
        text += delta
        events.push({
          event: 'thread.message.delta',
          data: { id: messageId, object: 'thread.message.delta', delta: { content: [{ index: 0, type: 'text', text: { value: delta, annotations: [] } }] } },
        })
        last = live.emitAll(run.thread_id, run.id, events, fence) ?? last
        return last
      }
      const opening = openingEvents()
      const first = opening.length > 0
      text += delta
      const event = {
        event: 'thread.message.delta',
        data: {
          id: messageId,
          object: 'thread.message.delta',
          delta: { content: [{ index: 0, type: 'text', text: first ? { value: delta, annotations: [] } : { value: delta } }] },
        },
      }
      // The first delta goes out with the opening events in one command: one relay hop, not five.
      if (first) {
        last = live.emitAll(run.thread_id, run.id, [...opening, event], fence) ?? last
        return last
      }
      emit(event.event, event.data)
      return undefined
    },
    toolCall(delta) {
      // `parallel_tool_calls: false`: only the first call exists (the executor drops the rest too).
      if (!run.parallel_tool_calls && delta.index > 0) return
      if (!toolStepOpen) {
        // OpenAI closes the message before the tool_calls step opens.
        for (const e of closeMessage()) emit(e.event, e.data)
        toolStepOpen = true
        const step: RunStep = {
          ...stepOf(run, toolStepId, nowSeconds(), { type: 'tool_calls', tool_calls: [] }, null),
          status: 'in_progress',
          completed_at: null,
        }
        emit('thread.run.step.created', step)
        emit('thread.run.step.in_progress', step)
      }
      const { index } = delta
      if (current === -1 && !done.has(index)) {
        current = index
        currentArgs = ''
      }
      if (index === current || done.has(index)) {
        emitCall(index, delta.id, delta.function.name, delta.function.arguments)
        if (index === current) {
          currentArgs += delta.function.arguments
          advance()
        }
        return
      }
      const call = held.get(index) ?? { args: '' }
      if (delta.id) call.id = delta.id
      if (delta.function.name !== undefined) call.name = delta.function.name
      call.args += delta.function.arguments
      held.set(index, call)
    },
    builtinDelta(index, type, body) {
      stepDelta({ index, type, [type]: body })
    },
    finishToolCalls() {
      for (const index of [...held.keys()].sort((a, b) => a - b)) {
        const call = held.get(index)!
        emitCall(index, call.id, call.name, call.args)
      }
      held.clear()
      current = -1
      return closeMessage()
    },
    finishMessage(message, step) {
      openMessage()
      if (messageClosed) return []
      messageClosed = true
      return [
        ...contentAddedAtEnd(message),
        { event: message.status === 'incomplete' ? 'thread.message.incomplete' : 'thread.message.completed', data: message },
        { event: 'thread.run.step.completed', data: step },
      ]
    },
    abandon(to) {
      if (!toolStepOpen) return []
      toolStepOpen = false
      const t = nowSeconds()
      const step: RunStep = {
        ...stepOf(run, toolStepId, t, { type: 'tool_calls', tool_calls: [] }, null),
        status: to,
        completed_at: null,
        ...(to === 'failed' ? { failed_at: t } : to === 'cancelled' ? { cancelled_at: t } : { expired_at: t }),
      }
      return [{ event: `thread.run.step.${to}`, data: step }]
    },
  }
}

/**
 * What a reply gained once its text was complete — citations and file paths on the text, images the
 * code displayed — as one `thread.message.delta` before `thread.message.completed`, so the SDKs'
 * stream helpers, which build the message from deltas, show them too. [] when there is none.
 * The text part carries `value: ''`: handlers written as OpenAI's docs write them print
 * `delta.value` on every text delta (node's `process.stdout.write(undefined)` throws and rejects the
 * stream; python prints `None`), and an empty string adds nothing to the accumulated text.
 */
function contentAddedAtEnd(message: Message): LiveEvent[] {
  const parts: Record<string, unknown>[] = []
  message.content.forEach((part, index) => {
    if (part.type === 'text' && part.text.annotations.length > 0) {
      parts.push({ index, type: 'text', text: { value: '', annotations: part.text.annotations.map((a, i) => ({ index: i, ...a })) } })
    } else if (part.type === 'image_file') parts.push({ index, type: 'image_file', image_file: part.image_file })
  })
  if (parts.length === 0) return []
  return [{ event: 'thread.message.delta', data: { id: message.id, object: 'thread.message.delta', delta: { content: parts } } }]
}

/** Whether a call's arguments are finished JSON; parsed only when they end like JSON does. */
function isCompleteJson(text: string): boolean {
  const t = text.trimEnd()
  if (!t.endsWith('}') && !t.endsWith(']')) return false
  try {
    JSON.parse(t)
    return true
  } catch {
    return false
  }
}
