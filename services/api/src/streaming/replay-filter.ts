import type { LiveEntry } from './event-hub.js'

/** One SSE event as sent: OpenAI's event name and its JSON `data`. */
export interface SseEvent {
  event: string
  data: string
}

export interface ReplayFilter {
  /** The events to send for these entries, in order (possibly fewer, rewritten, or extra). */
  push(entries: readonly LiveEntry[]): Promise<SseEvent[]>
}

/**
 * Keeps one SSE response coherent when the round it shows is re-run by another worker.
 *
 * The stream holds what every attempt emitted. A worker that dies mid-round is replaced (BullMQ
 * stall recovery, then a new claim with a higher fencing token) and the new attempt streams the
 * round again from its start, with the same message and step ids. Forwarded blindly, the client
 * would see the text twice (the SDK's `finalMessages()` would hold it twice). So:
 *
 * - Until the fence changes, entries pass through untouched: no parsing on the normal path.
 * - Entries of an older fence than the newest seen are dropped (a superseded attempt that still
 *   appends).
 * - On the first fence change, the entries already sent are read back (`readSent`) to learn what
 *   the client has, and from then on events are parsed: a re-created message or step is not
 *   announced again; text and tool-call arguments the client already has are skipped and only
 *   the new part is sent; if the new attempt diverges (a model is not deterministic, and tool-call
 *   ids always differ), the object is announced afresh (`*.created` resets the SDK's snapshot)
 *   with everything the new attempt produced so far, so the final objects equal the stored ones.
 */
export function createReplayFilter(readSent: (upToId: string) => Promise<LiveEntry[]>): ReplayFilter {
  let fence: number | null = null
  let lastId: string | null = null
  let state: ReplayState | null = null

  /** The fence rule shared by the live path and the read-back; true = handle the entry. */
  const admit = (e: LiveEntry, onRestart: () => void): boolean => {
    if (e.fence === null) return true
    if (fence !== null && e.fence < fence) return false
    if (fence !== null && e.fence > fence) onRestart()
    fence = e.fence
    return true
  }

  return {
    async push(entries) {
      const out: SseEvent[] = []
      for (const e of entries) {
        if (e.fence !== null && fence !== null && e.fence > fence && state === null) {
          // First takeover: rebuild what was sent (same fence rule, from the segment's start).
          const sent = lastId === null ? [] : await readSent(lastId)
          const rebuilt = new ReplayState()
          fence = null
          for (const s of sent) if (admit(s, () => rebuilt.restart())) rebuilt.push(s.event, s.data)
          state = rebuilt
        }
        lastId = e.id
        const current = state
        if (!admit(e, () => current?.restart())) continue
        if (current) out.push(...current.push(e.event, e.data))
        else out.push({ event: e.event, data: e.data })
      }
      return out
    },
  }
}

interface TextPart {
  /** What the client has. */
  sent: string
  /** What the current attempt produced. */
  seen: string
}
interface MessageState {
  created: Record<string, unknown>
  parts: Map<number, TextPart>
  inProgressSent: boolean
  closed: boolean
}
interface CallState {
  sentId?: string
  sentName?: string
  sentArgs: string
  seenId?: string
  seenName?: string
  seenArgs: string
  /** Seen in the current attempt. */
  current: boolean
}
interface StepState {
  created: Record<string, unknown>
  calls: Map<number, CallState>
  inProgressSent: boolean
  closed: boolean
}

type Json = Record<string, unknown>
const ev = (event: string, data: unknown): SseEvent => ({ event, data: JSON.stringify(data) })

/** What the client holds of each message and step, and what the current attempt produced. */
class ReplayState {
  private readonly messages = new Map<string, MessageState>()
  private readonly steps = new Map<string, StepState>()

  /** A new attempt starts: it will re-produce everything from nothing. */
  restart(): void {
    for (const m of this.messages.values()) for (const p of m.parts.values()) p.seen = ''
    for (const s of this.steps.values()) {
      for (const c of s.calls.values()) {
        c.seenArgs = ''
        c.seenId = undefined
        c.seenName = undefined
        c.current = false
      }
    }
  }

  push(event: string, raw: string): SseEvent[] {
    const pass = [{ event, data: raw }]
    if (!event.startsWith('thread.message.') && !event.startsWith('thread.run.step.')) return pass
    const data = JSON.parse(raw) as Json
    const id = String(data.id)
    switch (event) {
      case 'thread.message.created':
        if (this.messages.has(id)) return []
        this.messages.set(id, { created: data, parts: new Map(), inProgressSent: false, closed: false })
        return pass
      case 'thread.message.in_progress':
        return once(this.messages.get(id), pass)
      case 'thread.message.delta':
        return this.messageDelta(id, data, raw)
      case 'thread.message.completed':
      case 'thread.message.incomplete':
        return close(this.messages.get(id), pass)
      case 'thread.run.step.created':
        if (this.steps.has(id)) return []
        this.steps.set(id, { created: data, calls: new Map(), inProgressSent: false, closed: false })
        return pass
      case 'thread.run.step.in_progress':
        return once(this.steps.get(id), pass)
      case 'thread.run.step.delta':
        return this.stepDelta(id, data, raw)
      default:
        // step completed / failed / cancelled / expired
        return close(this.steps.get(id), pass)
    }
  }

  private messageDelta(id: string, data: Json, raw: string): SseEvent[] {
    const msg = this.messages.get(id)
    const content = (data.delta as Json | undefined)?.content
    if (!msg || !Array.isArray(content)) return [{ event: 'thread.message.delta', data: raw }]
    const forward: Json[] = []
    let untouched = true
    for (const part of content as Json[]) {
      const text = part.text as Json | undefined
      if (part.type !== 'text' || typeof text?.value !== 'string') {
        forward.push(part)
        continue
      }
      const index = Number(part.index)
      let p = msg.parts.get(index)
      if (!p) msg.parts.set(index, (p = { sent: '', seen: '' }))
      const before = p.seen
      p.seen += text.value
      if (p.sent === before) {
        p.sent = p.seen
        forward.push(part)
      } else if (p.sent.startsWith(p.seen)) {
        untouched = false // the client has this already
      } else if (p.seen.startsWith(p.sent)) {
        forward.push({ index, type: 'text', text: { value: p.seen.slice(p.sent.length) } })
        p.sent = p.seen
        untouched = false
      } else {
        return this.reannounceMessage(id, msg)
      }
    }
    if (forward.length === 0) return []
    msg.closed = false
    if (untouched) return [{ event: 'thread.message.delta', data: raw }]
    return [ev('thread.message.delta', { ...data, delta: { ...(data.delta as Json), content: forward } })]
  }

  /** The new attempt's text differs: a fresh `created` resets the client's snapshot, then all of it. */
  private reannounceMessage(id: string, msg: MessageState): SseEvent[] {
    const parts = [...msg.parts.entries()].filter(([, p]) => p.seen !== '')
    for (const [index, p] of msg.parts) {
      if (p.seen === '') msg.parts.delete(index)
      else p.sent = p.seen
    }
    msg.closed = false
    return [
      ev('thread.message.created', msg.created),
      ev('thread.message.in_progress', msg.created),
      ev('thread.message.delta', {
        id,
        object: 'thread.message.delta',
        delta: { content: parts.map(([index, p]) => ({ index, type: 'text', text: { value: p.seen, annotations: [] } })) },
      }),
    ]
  }

  private stepDelta(id: string, data: Json, raw: string): SseEvent[] {
    const step = this.steps.get(id)
    const details = (data.delta as Json | undefined)?.step_details as Json | undefined
    const calls = details?.tool_calls
    if (!step || !Array.isArray(calls)) return [{ event: 'thread.run.step.delta', data: raw }]
    const forward: Json[] = []
    let untouched = true
    for (const call of calls as Json[]) {
      const fn = call.function as Json | undefined
      if (call.type !== 'function' || !fn) {
        forward.push(call)
        continue
      }
      const index = Number(call.index)
      let c = step.calls.get(index)
      if (!c) step.calls.set(index, (c = { sentArgs: '', seenArgs: '', current: false }))
      if (typeof call.id === 'string') {
        c.seenId = call.id
        c.seenName = typeof fn.name === 'string' ? fn.name : undefined
        c.seenArgs = ''
        c.current = true
      }
      const before = c.seenArgs
      c.seenArgs += typeof fn.arguments === 'string' ? fn.arguments : ''
      if (c.sentId === undefined || (c.seenId === c.sentId && c.seenName === c.sentName && c.sentArgs === before)) {
        c.sentId = c.seenId
        c.sentName = c.seenName
        c.sentArgs = c.seenArgs
        forward.push(call)
      } else if (c.seenId !== c.sentId || c.seenName !== c.sentName) {
        return this.reannounceStep(id, step)
      } else if (c.sentArgs.startsWith(c.seenArgs)) {
        untouched = false
      } else if (c.seenArgs.startsWith(c.sentArgs)) {
        forward.push({ index, type: 'function', function: { arguments: c.seenArgs.slice(c.sentArgs.length) } })
        c.sentArgs = c.seenArgs
        untouched = false
      } else {
        return this.reannounceStep(id, step)
      }
    }
    if (forward.length === 0) return []
    step.closed = false
    if (untouched) return [{ event: 'thread.run.step.delta', data: raw }]
    return [ev('thread.run.step.delta', { ...data, delta: { ...(data.delta as Json), step_details: { ...details, tool_calls: forward } } })]
  }

  /** The new attempt's calls differ (new ids, other arguments): the step afresh, with its calls so far. */
  private reannounceStep(id: string, step: StepState): SseEvent[] {
    const current = [...step.calls.entries()].filter(([, c]) => c.current)
    for (const [index, c] of step.calls) {
      if (!c.current) step.calls.delete(index)
      else {
        c.sentId = c.seenId
        c.sentName = c.seenName
        c.sentArgs = c.seenArgs
      }
    }
    step.closed = false
    return [
      ev('thread.run.step.created', step.created),
      ev('thread.run.step.delta', {
        id,
        object: 'thread.run.step.delta',
        delta: {
          step_details: {
            type: 'tool_calls',
            tool_calls: current.map(([index, c]) => ({
              index,
              id: c.seenId,
              type: 'function',
              function: { name: c.seenName, arguments: c.seenArgs, output: null },
            })),
          },
        },
      }),
    ]
  }
}

/** `*.in_progress`: once per object. */
function once(state: { inProgressSent: boolean } | undefined, pass: SseEvent[]): SseEvent[] {
  if (!state) return pass
  if (state.inProgressSent) return []
  state.inProgressSent = true
  return pass
}

/** `*.completed` and the like: once, unless the object changed since it was closed. */
function close(state: { closed: boolean } | undefined, pass: SseEvent[]): SseEvent[] {
  if (!state) return pass
  if (state.closed) return []
  state.closed = true
  return pass
}
