import { Agent, type Dispatcher } from 'undici'

/**
 * A `fetch` for the `openai` client (its `fetch` option) over undici's dispatcher: the SDK still
 * builds the request, times it out and raises its error classes; only the transport under it
 * changes. Node's WHATWG `fetch` costs ~3× the CPU of undici's `request` for a chat completion
 * (measured against the fake upstream, same process, 3,000 calls, 20 at once: the SDK's streamed
 * call 2.0 → 1.1 ms CPU, at load 8–13 on 2 cores), and every run makes one or more. Under
 * `request` this goes one layer lower, to `dispatch` with a handler of its own (issue 14): no
 * `AsyncResource`, no header object parsed and then copied into a `Headers`, and no Node
 * `Readable` with an async iterator (a dozen listeners) under the body: the bytes go from
 * undici's parser to one small queue ({@link RawBody}) that sse-parser.ts reads.
 *
 * It behaves as Node's `fetch` where the SDK and `classifyUpstreamError` look: an aborted signal
 * rejects with `signal.reason`; a failure before the response rejects with
 * `TypeError('fetch failed', {cause})`; a failure while the body streams errors it with
 * `TypeError('terminated', {cause})`. Bodies other than a string or bytes (uploads), and anything
 * but http(s), go to the global `fetch`. Redirects are not followed (OpenAI-compatible APIs do not
 * redirect a POST; a 3xx reaches the SDK as an error status). Nothing is decompressed: no
 * `accept-encoding` is sent, as the SDK sends none.
 *
 * A caller may also end one request without an `AbortSignal`: an {@link UpstreamCall} passed in
 * the request's `fetchOptions` under {@link UPSTREAM_CALL} (chat-stream.ts does, for its cancel
 * and idle timeout). Such a request's 2xx response has no web body (`response.body` is null): its
 * bytes are read only through {@link rawBodyOf}.
 */
export function createUpstreamFetch(dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000 })): typeof fetch {
  const upstreamFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null
    const body = init.body
    const target = url === null ? null : targetOf(url)
    if (target === null || !(body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array)) {
      return fetch(input, init)
    }
    const signal = init.signal ?? undefined
    if (signal?.aborted) return Promise.reject(signal.reason)
    const call = (init as { [UPSTREAM_CALL]?: UpstreamCall })[UPSTREAM_CALL]
    if (call?.aborted) return Promise.reject(call.reason)
    return new Promise<Response>((resolve, reject) => {
      const handler = new ResponseHandler(init.method === 'HEAD', signal, call, resolve, reject)
      try {
        dispatcher.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
            headers: headersOf(init.headers),
            body: body ?? undefined,
          },
          handler,
        )
      } catch (err) {
        handler.onError(err as Error)
      }
    })
  }
  upstreamFetches.add(upstreamFetch)
  return upstreamFetch
}

const upstreamFetches = new WeakSet<object>()

/** Whether `f` was made by `createUpstreamFetch` (so it honours an {@link UpstreamCall}). */
export const isUpstreamFetch = (f: unknown): boolean => typeof f === 'function' && upstreamFetches.has(f)

/**
 * Ends one request made through `createUpstreamFetch` without an `AbortSignal` (the SDK makes
 * one per request anyway; a second, chained to it, cost an `AbortController` and two listeners
 * per call). Pass it as `fetchOptions: { [UPSTREAM_CALL]: call }`; `abortUpstreamCall` ends the
 * request: before its response, the fetch rejects with `reason`; after, its body ends as an
 * aborted one (an `AbortError`, as reading an aborted fetch's body does). Other fetches ignore it.
 */
export interface UpstreamCall {
  aborted: boolean
  reason: unknown
  abort: ((err: unknown) => void) | null
}

/** A new {@link UpstreamCall}, not aborted. */
export const newUpstreamCall = (): UpstreamCall => ({ aborted: false, reason: undefined, abort: null })

/** The `fetchOptions` key under which `createUpstreamFetch` finds an {@link UpstreamCall}. */
export const UPSTREAM_CALL: unique symbol = Symbol('threadwork.upstreamCall')

/** Ends the request `call` belongs to (see {@link UpstreamCall}); later calls do nothing. */
export function abortUpstreamCall(call: UpstreamCall, reason: unknown): void {
  if (call.aborted) return
  call.aborted = true
  call.reason = reason
  call.abort?.(reason)
}

/**
 * undici's body under a Response from `createUpstreamFetch`, chunk by chunk: `next` rejects as
 * reading the fetch's body would (the signal's reason, an `AbortError`, or `TypeError: terminated`
 * with undici's error as its cause); `return` releases the body, ending the request if unread.
 */
export interface RawBody {
  next(): Promise<IteratorResult<Uint8Array, undefined>>
  return(): Promise<IteratorResult<Uint8Array, undefined>>
}

const rawBodies = new WeakMap<Response, RawBody>()

/**
 * Takes undici's body from under a Response made by `createUpstreamFetch`, for a reader that skips
 * the web stream (sse-parser.ts); undefined for any other Response, or when it was taken already.
 * Read only one of the two: the web stream, left unread, never pulls from it.
 */
export function rawBodyOf(response: Response): RawBody | undefined {
  const raw = rawBodies.get(response)
  if (raw !== undefined) rawBodies.delete(response)
  return raw
}

/** Bytes held before undici is asked to pause (its `onData` returns false), as a Node stream's default 64 KiB. */
const HIGH_WATER = 64 * 1024

/**
 * One request's undici handler: resolves the fetch at the response's headers, then queues the
 * body's chunks for one reader. The request's signal and its {@link UpstreamCall} abort it
 * through the `abort` undici hands to `onConnect`.
 */
class ResponseHandler implements Dispatcher.DispatchHandlers, RawBody {
  #abort: ((err: unknown) => void) | null = null
  #resume: (() => void) | null = null
  #settled = false
  /** Body state: chunks not yet read, their bytes, the end (true) or the error, the reader waiting. */
  #chunks: Uint8Array[] = []
  #bytes = 0
  #paused = false
  #end: true | Error | null = null
  #waiter: { resolve: (r: IteratorResult<Uint8Array, undefined>) => void; reject: (err: unknown) => void } | null = null
  #released = false
  readonly #onAbort: (() => void) | undefined

  constructor(
    private readonly head: boolean,
    private readonly signal: AbortSignal | undefined,
    private readonly call: UpstreamCall | undefined,
    private readonly resolve: (response: Response) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    if (signal) {
      this.#onAbort = () => this.#abort?.(signal.reason)
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.signal?.aborted || this.call?.aborted) {
      abort(this.signal?.aborted ? this.signal.reason : this.call!.reason)
      return
    }
    // undici passes what it is given on to onError, which reads the reason from the signal or the call instead.
    const end = abort as (err: unknown) => void
    this.#abort = end
    if (this.call) this.call.abort = end
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx: informational, the final response follows (undici's request ignores them too).
    if (statusCode < 200) return true
    this.#resume = resume
    const headers = new Headers()
    for (let i = 0; i < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!.toString('latin1'), rawHeaders[i + 1]!.toString('utf8'))
    const nullBody = statusCode === 204 || statusCode === 304 || this.head
    if (nullBody) this.#released = true
    // A chat stream's 2xx body (a call's, from chat-stream.ts) is read raw, never through a web stream: none is made for it.
    const web = nullBody || (this.call !== undefined && statusCode < 300) ? null : webBody(this)
    const response = new Response(web, { status: statusCode, headers })
    if (!nullBody) rawBodies.set(response, this)
    this.#settled = true
    this.resolve(response)
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.#released) return true
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const waiter = this.#waiter
    if (waiter !== null) {
      this.#waiter = null
      waiter.resolve({ value: bytes, done: false })
      return true
    }
    this.#chunks.push(bytes)
    this.#bytes += bytes.byteLength
    if (this.#bytes < HIGH_WATER) return true
    this.#paused = true
    return false
  }

  onComplete(): void {
    this.#done()
    this.#finish(true)
  }

  onError(err: Error): void {
    this.#done()
    if (!this.#settled) {
      this.#settled = true
      this.reject(this.signal?.aborted ? this.signal.reason : this.call?.aborted ? this.call.reason : new TypeError('fetch failed', { cause: err }))
      return
    }
    this.#finish(err)
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    const chunk = this.#chunks.shift()
    if (chunk !== undefined) {
      this.#bytes -= chunk.byteLength
      if (this.#paused && this.#bytes < HIGH_WATER) {
        this.#paused = false
        this.#resume?.()
      }
      return Promise.resolve({ value: chunk, done: false })
    }
    const end = this.#end
    if (end === true || this.#released) return Promise.resolve({ value: undefined, done: true })
    if (end !== null) return Promise.reject(this.#bodyError(end))
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (!this.#released) {
      this.#released = true
      this.#chunks.length = 0
      // A body read to its end has nothing left to abort; otherwise the request ends here, as destroying undici's body does.
      if (this.#end === null) this.#abort?.(new DOMException('This operation was aborted', 'AbortError'))
    }
    return Promise.resolve({ value: undefined, done: true })
  }

  /** The request is over: no abort reaches it any more. */
  #done(): void {
    if (this.#onAbort) this.signal!.removeEventListener('abort', this.#onAbort)
    this.#abort = null
    if (this.call) this.call.abort = null
  }

  #finish(end: true | Error): void {
    if (this.#end !== null) return
    this.#end = end
    const waiter = this.#waiter
    if (waiter === null) return
    this.#waiter = null
    if (end === true) waiter.resolve({ value: undefined, done: true })
    else waiter.reject(this.#bodyError(end))
  }

  /** What reading the body of an aborted or failed fetch throws; ended by its UpstreamCall, it reads as aborted. */
  #bodyError(err: Error): unknown {
    if (this.signal?.aborted) return this.signal.reason
    if (this.call?.aborted) return new DOMException('This operation was aborted', 'AbortError')
    return new TypeError('terminated', { cause: err })
  }
}

/** Origin and path of each URL seen (the SDK sends one URL per provider and endpoint), so each is parsed once. */
const targets = new Map<string, { origin: string; path: string } | null>()

function targetOf(url: string): { origin: string; path: string } | null {
  let target = targets.get(url)
  if (target !== undefined) return target
  const parsed = URL.parse(url)
  target =
    parsed && (parsed.protocol === 'http:' || parsed.protocol === 'https:') ? { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` } : null
  if (targets.size >= 1_000) targets.clear()
  targets.set(url, target)
  return target
}

/** `init.headers` in any of its forms, as a plain record (the SDK passes a `Headers`). */
function headersOf(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  if (!h) return out
  if (h instanceof Headers) h.forEach((value, name) => (out[name] = value))
  else if (Array.isArray(h)) for (const [name, value] of h as string[][]) out[name!.toLowerCase()] = value!
  else for (const [name, value] of Object.entries(h as Record<string, string>)) out[name.toLowerCase()] = value
  return out
}

/** The response body as a web stream whose errors read as `fetch`'s: the abort reason, else `TypeError: terminated`. */
function webBody(body: RawBody): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await body.next()
          if (done) controller.close()
          else controller.enqueue(value)
        } catch (err) {
          controller.error(err)
        }
      },
      cancel() {
        body.return()
      },
    },
    // No read ahead: a pull before anyone reads would take the first chunk from a reader of the raw body (rawBodyOf).
    { highWaterMark: 0 },
  )
}
