import type { ServerResponse } from 'node:http'
import type { Context } from 'hono'

/** Where an SSE response's frames go; `write` resolves once the socket takes more (backpressure). */
export interface SseSink {
  write(text: string): Promise<void> | undefined
  /** The client went away (or the response was cancelled): nothing more is sent. */
  readonly aborted: boolean
  onAbort(listener: () => void): void
  /** Ends the response (idempotent). */
  close(): void
}

/**
 * A `text/event-stream` response whose frames go straight to Node's socket once the headers are out.
 *
 * Hono's `streamSSE` passes each write through a TextEncoder, a TransformStream, a second
 * ReadableStream and @hono/node-server's reader before `outgoing.write`: ~0.05 ms per write on an
 * idle CPU, on the path of every run's first delta (issue 14). Here the response body is a
 * ReadableStream that never carries data under @hono/node-server: the server writes the headers
 * the middleware left on the Response (request id, `connection: close` at shutdown, a held
 * durable ack), then asks the body for its first chunk; that `pull` is the sign the headers are
 * out, and from then on frames are written to the ServerResponse directly (anything written
 * before it goes first, in order). Closing the body ends the response through the server as
 * before. The server's pending read never resolves with data, so the two writers never interleave.
 * Without a Node ServerResponse (`app.request()` in tests, other runtimes) the frames go through
 * the body stream.
 *
 * A client that disconnects: the server cancels the body (its `close` listener) and the
 * ServerResponse closes; either aborts the sink. Backpressure: `write` returns a promise while
 * the socket's buffer is full (`drain`) or the body stream's queue is.
 */
export function sseResponse(c: Context, run: (sink: SseSink) => Promise<void>): Response {
  const outgoing = nodeResponse(c)
  const encoder = new TextEncoder()
  const abortListeners: (() => void)[] = []
  let controller!: ReadableStreamDefaultController<Uint8Array>
  /** hold: frames wait in `held` for the headers; direct: to the ServerResponse; body: through the body stream. */
  let mode: 'hold' | 'direct' | 'body' = outgoing ? 'hold' : 'body'
  let aborted = false
  let closed = false
  /** Frames written before the headers were out (under @hono/node-server). */
  let held = ''
  /** Waiting for room: the body stream's `pull` or the socket's `drain`. */
  let room: (() => void) | null = null

  const abort = () => {
    if (aborted) return
    aborted = true
    wakeWriter()
    for (const listener of abortListeners) {
      try {
        listener()
      } catch {}
    }
  }
  const wakeWriter = () => {
    const resolve = room
    room = null
    resolve?.()
  }
  const waitForRoom = () => new Promise<void>((resolve) => (room = resolve))

  const body = new ReadableStream<Uint8Array>(
    {
      start(ctrl) {
        controller = ctrl
      },
      pull() {
        if (mode === 'hold' && outgoing?.headersSent) {
          mode = 'direct'
          outgoing.on('close', () => {
            if (!outgoing.writableFinished) abort()
          })
          outgoing.on('drain', wakeWriter)
          if (held !== '' && !aborted) outgoing.write(held)
          held = ''
        } else if (mode === 'hold') {
          // Read before the headers were written (a server reading ahead): frames go through
          // the body from here on.
          mode = 'body'
          if (held !== '') controller.enqueue(encoder.encode(held))
          held = ''
        }
        wakeWriter()
      },
      cancel() {
        abort()
      },
    },
    // No chunk is read ahead: `pull` comes only when the server waits for one.
    { highWaterMark: 0 },
  )
  const sink: SseSink = {
    write(text) {
      if (aborted || closed) return undefined
      if (mode === 'direct') {
        if (outgoing!.destroyed) {
          abort()
          return undefined
        }
        return outgoing!.write(text) ? undefined : waitForRoom()
      }
      if (mode === 'hold') {
        // Until the headers are out (a durable ack can hold them), the writer waits, as it did
        // behind streamSSE's stream: the frames read meanwhile stay in Redis, not here.
        held += text
        return waitForRoom()
      }
      controller.enqueue(encoder.encode(text))
      return (controller.desiredSize ?? 0) < 0 ? waitForRoom() : undefined
    },
    get aborted() {
      return aborted
    },
    onAbort(listener) {
      abortListeners.push(listener)
    },
    close() {
      if (closed) return
      closed = true
      wakeWriter()
      try {
        if (held !== '') controller.enqueue(encoder.encode(held))
        held = ''
        controller.close()
      } catch {
        // Cancelled already (the client left).
      }
    },
  }

  c.header('Content-Type', 'text/event-stream')
  c.header('Cache-Control', 'no-cache')
  c.header('Connection', 'keep-alive')
  // Chunked: @hono/node-server then writes the headers at once instead of reading ahead.
  c.header('Transfer-Encoding', 'chunked')
  void (async () => {
    try {
      await run(sink)
    } catch {
      // `run` reports its own failures (an `error` event); nothing more can be sent.
    } finally {
      sink.close()
    }
  })()
  return c.newResponse(body)
}

/** The Node ServerResponse behind `c` under @hono/node-server (`c.env.outgoing`), if any. */
function nodeResponse(c: Context): ServerResponse | null {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing
  return outgoing && typeof (outgoing as ServerResponse).write === 'function' && 'headersSent' in (outgoing as object) ? (outgoing as ServerResponse) : null
}
