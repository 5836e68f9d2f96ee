import { isAscii } from 'node:buffer'
import { APIError, OpenAIError } from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { rawBodyOf } from './upstream-fetch.js'

/**
 * A chat completion's SSE body parsed as the `openai` SDK's `Stream.fromSSEResponse` parses it
 * (openai-node 6.x, `core/streaming.ts` with `internal/decoders/line.ts`), without its chain of
 * ReadableStream → async generators → per-line copies: that chain cost ~0.75 ms from the response
 * headers to the first chunk (issue 14). Each layer below is a port of the SDK's, kept in the same
 * order so what is dispatched, and when, matches byte for byte, including what a mid-stream
 * failure leaves undelivered (sse-parser.test.ts compares the two on every split of its inputs):
 *
 * 1. `iterSSEChunks`: bytes are released only up to the last blank-line pattern (`\n\n`, `\r\r`,
 *    `\r\n\r\n`) seen so far; the rest waits for more bytes or the end of the body.
 * 2. `LineDecoder`: lines end at `\n`, `\r\n` or `\r`; a line ended by `\r` is held until the next
 *    `\r` or `\n` arrives (or the end). Each line is decoded as UTF-8 with `TextDecoder` (a BOM at a
 *    line's start is dropped, invalid bytes become U+FFFD), so a character split across chunks is whole.
 * 3. `SSEDecoder`: `:` lines are comments, `event:` and `data:` fields (one leading space dropped),
 *    data lines joined with `\n`, an event dispatched at a blank line; an event unterminated at the
 *    end of the body is dropped.
 * 4. `Stream`: data starting with `[DONE]` ends the items (the body is still read to its end);
 *    other data is `JSON.parse`d (a `SyntaxError` is thrown as is); an object with a truthy `error`
 *    throws `new APIError(undefined, data.error, undefined, response.headers)`; an event named
 *    `thread.*` yields `{event, data}`. Unlike the SDK, an unparsable payload is not logged.
 */
export class ChatSSEParser {
  // Layer 1: bytes not yet released (no blank-line pattern in them yet).
  #pending: Uint8Array = EMPTY
  // Layer 2: released bytes not yet ended by a newline; `#cr` is the SDK's carriageReturnIndex.
  #line: Uint8Array = EMPTY
  #cr: number | null = null
  // Layer 3.
  #event: string | null = null
  #data: string[] = []
  // Layer 4.
  #done = false

  /**
   * @param headers the response's headers, carried by an `APIError` from an `error` payload
   * @param onItem called synchronously with each chunk, in order; an exception from it propagates out of `push`/`end`
   */
  constructor(
    private readonly headers: Headers,
    private readonly onItem: (item: ChatCompletionChunk) => void,
  ) {}

  /** True once a `[DONE]` event was seen (later events are ignored, as the SDK ignores them). */
  get done(): boolean {
    return this.#done
  }

  /** Feeds one chunk of the body. Throws what the SDK's iterator would throw at this point. */
  push(chunk: Uint8Array): void {
    const prev = this.#pending
    const data = prev.length === 0 ? chunk : concat(prev, chunk)
    // A pattern wholly inside `prev` was already looked for, so the scan starts where one could end past it.
    let from = prev.length > 3 ? prev.length - 3 : 0
    let released = 0
    if (data.indexOf(0x0d, from) === -1) {
      // No `\r` to look at (the usual body): the only pattern is `\n\n`, found where the loop below
      // would find it, but by the native indexOf instead of a byte loop (issue 14: a reply's few
      // hundred bytes were scanned twice by interpreted code, once here and once in #lines).
      const last = data.length - 1
      for (let i = data.indexOf(0x0a, from); i !== -1 && i < last; ) {
        if (data[i + 1] === 0x0a) {
          released = i + 2
          i = data.indexOf(0x0a, released)
        } else i = data.indexOf(0x0a, i + 1)
      }
    } else {
      for (let end = findDoubleNewlineEnd(data, from); end !== -1; end = findDoubleNewlineEnd(data, from)) {
        released = end
        from = end
      }
    }
    this.#pending = released === data.length ? EMPTY : data.subarray(released)
    if (released > 0) this.#lines(data.subarray(0, released))
  }

  /** The body ended: releases what is left and flushes the last line, as the SDK does at the end. */
  end(): void {
    const rest = this.#pending
    this.#pending = EMPTY
    if (rest.length > 0) this.#lines(rest)
    if (this.#line.length > 0) this.#lines(NEWLINE)
  }

  // Layer 2, the SDK's LineDecoder.decode with offsets instead of copies.
  #lines(bytes: Uint8Array): void {
    if (this.#line.length === 0 && this.#cr === null && bytes.indexOf(0x0d) === -1 && isAscii(bytes)) {
      // ASCII without `\r` (the usual body): one decode for all its lines, split at `\n`, gives the
      // same lines as the loop below (no BOM or invalid byte can be in ASCII).
      const text = decoder.decode(bytes)
      let s = 0
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', s)) {
        const line = text.substring(s, i)
        s = i + 1
        this.#sse(line)
      }
      if (s < bytes.length) this.#line = bytes.subarray(s)
      return
    }
    const buf = this.#line.length === 0 ? bytes : concat(this.#line, bytes)
    let s = 0
    let cr = this.#cr
    const n = buf.length
    for (;;) {
      let i = s + (cr ?? 0)
      while (i < n && buf[i] !== 0x0a && buf[i] !== 0x0d) i++
      if (i >= n) break
      const carriage = buf[i] === 0x0d
      const index = i - s + 1
      if (carriage && cr === null) {
        cr = index
        continue
      }
      if (cr !== null && (index !== cr + 1 || carriage)) {
        const line = decoder.decode(buf.subarray(s, s + cr - 1))
        s += cr
        cr = null
        this.#sse(line)
        continue
      }
      const end = cr !== null ? i - 1 : i
      const line = decoder.decode(buf.subarray(s, end))
      s += index
      cr = null
      this.#sse(line)
    }
    this.#line = s >= n ? EMPTY : buf.subarray(s)
    this.#cr = cr
  }

  // Layer 3, the SDK's SSEDecoder.decode.
  #sse(line: string): void {
    if (line.endsWith('\r')) line = line.substring(0, line.length - 1)
    if (!line) {
      if (!this.#event && !this.#data.length) return
      const event = this.#event
      const data = this.#data.join('\n')
      this.#event = null
      this.#data = []
      this.#dispatch(event, data)
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.substring(0, colon)
    let value = colon === -1 ? '' : line.substring(colon + 1)
    if (value.startsWith(' ')) value = value.substring(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
  }

  // Layer 4, the body of Stream.fromSSEResponse's iterator.
  #dispatch(event: string | null, raw: string): void {
    if (this.#done) return
    if (raw.startsWith('[DONE]')) {
      this.#done = true
      return
    }
    const data = JSON.parse(raw)
    if (event === null || !event.startsWith('thread.')) {
      if (data?.error) throw new APIError(undefined, data.error, undefined, this.headers)
      this.onItem(data)
    } else {
      // Unreachable for 'error' (it does not start with 'thread.'), kept as the SDK has it.
      if (event === 'error') throw new APIError(undefined, data.error, data.message, undefined)
      this.onItem({ event, data } as unknown as ChatCompletionChunk)
    }
  }
}

/**
 * Reads a 2xx streamed chat completion response to its end, calling `onItem` with each chunk as
 * the SDK's `Stream` would yield it. Over `createUpstreamFetch` it reads undici's body directly
 * (no web stream); over any other fetch, `response.body`.
 *
 * Resolves when the body ends, or quietly when reading fails with an `AbortError` (an aborted
 * request; the SDK's iterator ends quietly then too, so the caller must check its own signal).
 * Rejects with the parser's errors (`SyntaxError`, `APIError`), the body's errors as fetch raises
 * them (`TypeError: terminated`), or whatever `onItem` threw. On any rejection the body is released.
 * @throws OpenAIError when the response has no body, as the SDK does
 */
export async function readChatCompletionSSE(
  response: Response,
  onItem: (item: ChatCompletionChunk) => void,
  /**
   * Called before each read of the body: when it returns a promise, the next read waits for it
   * (the caller is handling what it held back); its rejection is the caller's failure, as one
   * thrown by `onItem`.
   */
  between?: () => Promise<void> | undefined,
): Promise<void> {
  const raw = rawBodyOf(response)
  if (raw === undefined && !response.body) throw new OpenAIError('Attempted to iterate over a response with no body')
  let consumerFailed = false
  const parser = new ChatSSEParser(response.headers, (item) => {
    try {
      onItem(item)
    } catch (err) {
      consumerFailed = true
      throw err
    }
  })
  const it: AsyncIterator<unknown> = raw ?? iterate(response.body!)
  let finished = false
  try {
    for (;;) {
      const wait = between?.()
      if (wait) {
        try {
          await wait
        } catch (err) {
          consumerFailed = true
          throw err
        }
      }
      // upstream-fetch.ts's raw body fails as the web body would.
      const r = await it.next()
      if (r.done) break
      const chunk = r.value
      if (chunk == null) continue
      parser.push(chunk instanceof Uint8Array ? chunk : typeof chunk === 'string' ? encoder.encode(chunk) : new Uint8Array(chunk as ArrayBuffer))
    }
    finished = true
    parser.end()
  } catch (err) {
    if (!consumerFailed && isAbortError(err)) return
    throw err
  } finally {
    // The SDK aborts the request when its iterator exits early; releasing the body does that here.
    if (!finished) it.return?.()?.catch(() => {})
  }
}

/** The SDK's ReadableStreamToAsyncIterable. */
function iterate(stream: ReadableStream<Uint8Array>): AsyncIterator<unknown> {
  const s = stream as ReadableStream<Uint8Array> & { [Symbol.asyncIterator]?: () => AsyncIterator<unknown> }
  if (s[Symbol.asyncIterator]) return s[Symbol.asyncIterator]!()
  const reader = stream.getReader()
  return {
    async next() {
      try {
        const result = await reader.read()
        if (result.done) reader.releaseLock()
        return result
      } catch (e) {
        reader.releaseLock()
        throw e
      }
    },
    async return() {
      const cancel = reader.cancel()
      reader.releaseLock()
      await cancel
      return { done: true, value: undefined }
    },
  }
}

/** The SDK's isAbortError (internal/errors.ts). */
function isAbortError(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (('name' in err && (err as { name: unknown }).name === 'AbortError') ||
      ('message' in err && String((err as { message: unknown }).message).includes('FetchRequestCanceledException')))
  )
}

/** The index just past the first `\n\n`, `\r\r` or `\r\n\r\n` at or after `from`, else -1 (the SDK's findDoubleNewlineIndex). */
function findDoubleNewlineEnd(b: Uint8Array, from: number): number {
  const n = b.length
  for (let i = from; i < n - 1; i++) {
    const c = b[i]
    if (c === 0x0a) {
      if (b[i + 1] === 0x0a) return i + 2
    } else if (c === 0x0d) {
      const d = b[i + 1]
      if (d === 0x0d) return i + 2
      if (d === 0x0a && i + 3 < n && b[i + 2] === 0x0d && b[i + 3] === 0x0a) return i + 4
    }
  }
  return -1
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

const EMPTY = new Uint8Array(0)
const NEWLINE = new Uint8Array([0x0a])
const decoder = new TextDecoder()
const encoder = new TextEncoder()
