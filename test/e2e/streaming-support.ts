import type { ApiServer } from '@threadwork/test-utils'
import { expect } from 'vitest'

/** One SSE event as it came over the wire; `data` is parsed JSON, or the raw text (`[DONE]`). */
export interface WireEvent {
  event: string
  // biome-ignore lint/suspicious/noExplicitAny: wire payloads are checked field by field in tests
  data: any
}

/** POSTs `body` to `path` (under /v1) with the SDK's headers, as `stream: true` requests go. */
export function postStream(api: ApiServer, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${api.baseURL}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json', 'openai-beta': 'assistants=v2' },
    body: JSON.stringify(body),
    signal,
  })
}

/**
 * Reads a `text/event-stream` response to its end and returns its events, comments skipped.
 * `onEvent` sees each as it arrives; `pauseMs` waits after every chunk read (a slow client).
 */
export async function readSse(res: Response, opts: { onEvent?: (e: WireEvent) => void; pauseMs?: number } = {}): Promise<WireEvent[]> {
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const events: WireEvent[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = res.body!.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      if (data.length === 0) continue
      const text = data.join('\n')
      const e: WireEvent = { event, data: text === '[DONE]' ? text : JSON.parse(text) }
      events.push(e)
      opts.onEvent?.(e)
    }
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs))
  }
  expect(buffer.trim()).toBe('')
  return events
}

/** Event names with runs of one repeated delta event folded into `name*` (OpenAI's "×N"). */
export function shape(events: readonly (WireEvent | string)[]): string[] {
  const out: string[] = []
  for (const e of events) {
    const name = typeof e === 'string' ? e : e.event
    const folded = name.endsWith('.delta') ? `${name}*` : name
    if (folded.endsWith('*') && out.at(-1) === folded) continue
    out.push(folded)
  }
  return out
}

/** §6.3 of the research notes, in `shape` form. */
export const ORDER = {
  runOpens: ['thread.run.created', 'thread.run.queued', 'thread.run.in_progress'],
  messageRound: (end: 'completed' | 'incomplete' = 'completed') => [
    'thread.run.step.created',
    'thread.run.step.in_progress',
    'thread.message.created',
    'thread.message.in_progress',
    'thread.message.delta*',
    `thread.message.${end}`,
    'thread.run.step.completed',
  ],
  toolRound: ['thread.run.step.created', 'thread.run.step.in_progress', 'thread.run.step.delta*', 'thread.run.requires_action'],
}
