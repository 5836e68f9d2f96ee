/**
 * A tiny local server speaking just enough of the chat completions / models API for this
 * package's tests. Test-only (not exported from the barrel); the full fake upstream lives in
 * @threadwork/test-utils.
 */
import { type IncomingHttpHeaders, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown> | null
}

export interface ChatServerReply {
  status?: number
  headers?: Record<string, string>
  /** A JSON body (errors, `/models`). */
  json?: unknown
  /** SSE events, objects JSON-encoded; `'[DONE]'` is sent as is. */
  sse?: readonly unknown[]
  /** Pause between SSE events. */
  delayMs?: number
  /** Destroy the socket after this many events (a mid-stream connection reset). */
  destroyAfter?: number
  /** Leave the response open after the last event (for abort / idle tests). */
  hold?: boolean
}

export type ChatServerHandler = (req: RecordedRequest, nth: number) => ChatServerReply | Promise<ChatServerReply>

export interface ChatServer {
  /** e.g. `http://127.0.0.1:41234/v1` */
  baseURL: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export async function startChatServer(handler: ChatServerHandler): Promise<ChatServer> {
  const requests: RecordedRequest[] = []
  const server = createServer(async (req, res) => {
    let raw = ''
    for await (const chunk of req) raw += chunk
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').replace(/^\/v1/, ''),
      headers: req.headers,
      body: raw ? (JSON.parse(raw) as Record<string, unknown>) : null,
    }
    requests.push(recorded)
    try {
      await send(res, await handler(recorded, requests.length))
    } catch {
      res.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function send(res: ServerResponse, reply: ChatServerReply): Promise<void> {
  if (!reply.sse) {
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers })
    res.end(JSON.stringify(reply.json ?? {}))
    return
  }
  res.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream', ...reply.headers })
  let sent = 0
  for (const event of reply.sse) {
    if (reply.destroyAfter !== undefined && sent >= reply.destroyAfter) return destroySoon(res)
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
    if (res.destroyed) return
    res.write(`data: ${event === '[DONE]' ? event : JSON.stringify(event)}\n\n`)
    sent++
  }
  if (reply.destroyAfter !== undefined && sent >= reply.destroyAfter) return destroySoon(res)
  if (!reply.hold) res.end()
}

// Let what was written reach the client first; destroy() drops unflushed writes.
async function destroySoon(res: ServerResponse): Promise<void> {
  await new Promise((r) => setTimeout(r, 30))
  res.destroy()
}

/** Chunk builders for SSE replies. */
export const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'test-model',
  choices: [{ index: 0, delta, finish_reason }],
  ...extra,
})

export const usageChunk = (prompt_tokens: number, completion_tokens: number) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'test-model',
  choices: [],
  usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
})

/** A normal streamed text answer: role chunk, one chunk per piece, stop, usage, [DONE]. */
export const textReply = (pieces: readonly string[], usage: [number, number] = [10, pieces.length]): unknown[] => [
  chunk({ role: 'assistant', content: '' }),
  ...pieces.map((p) => chunk({ content: p })),
  chunk({}, 'stop'),
  usageChunk(usage[0], usage[1]),
  '[DONE]',
]
