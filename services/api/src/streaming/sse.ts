/**
 * Server-sent events as OpenAI frames them (research/assistants-v2-surface.md §6): an `event:`
 * line, one `data:` line of JSON, a blank line; the stream ends with `event: done` /
 * `data: [DONE]`, and an error is `event: error` with a bare `{code, message, param, type}`.
 * Built as strings so a batch of events goes out in one write.
 */

/** One event. `data` is JSON text without raw newlines (JSON.stringify never emits one). */
export const sseFrame = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`

export const SSE_DONE = sseFrame('done', '[DONE]')

/** A comment line: keeps proxies and load balancers from closing a quiet stream; clients ignore it. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n'

/** `event: error` with OpenAI's bare error object (not wrapped in `{"error": …}`). */
export function sseError(message: string, code: string | null = 'server_error', type = 'server_error'): string {
  return sseFrame('error', JSON.stringify({ code, message, param: null, type }))
}
