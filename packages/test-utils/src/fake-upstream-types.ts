import type { EmbeddingErrorReply, FakeEmbeddingsMode, RecordedEmbeddingRequest } from './fake-embeddings.js'
import type { IncomingHttpHeaders } from 'node:http'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'

/** One tool call the fake model makes. `arguments` is sent verbatim (normally a JSON string). */
export interface FakeToolCall {
  name: string
  arguments: string
}

/**
 * Token counts to report instead of the computed ones, or `'none'` to report no usage at all:
 * no `usage` on a non-stream body, no usage chunk and no `usage: null` fields in a stream, even
 * when `stream_options.include_usage` asks for them (some providers do this; the worker then
 * counts tokens itself). Computed counts: 1 word = 1 token (see {@link Reply}).
 */
export type FakeUsage = { prompt_tokens: number; completion_tokens: number } | 'none'

/** Pacing of a generated reply. Both delays default to 0. */
export interface FakeTiming {
  /** Wait before the first chunk (stream) or before the whole body (non-stream). */
  firstTokenDelayMs?: number
  /**
   * Wait between later chunks. A non-stream reply waits
   * `firstTokenDelayMs + interChunkDelayMs × (chunks − 1)`, the time the stream would take.
   */
  interChunkDelayMs?: number
}

/** A plain assistant text reply, streamed in words (1 word = 1 token). */
export interface TextReply extends FakeTiming {
  kind: 'text'
  text: string
  /** Words per content chunk; default 1. */
  chunkSize?: number
  usage?: FakeUsage
}

/**
 * Optional `text` streamed as content, then the calls in OpenAI's exact shape: per call a first
 * delta `{index, id: 'call_…', type: 'function', function: {name, arguments: ''}}`, then one
 * delta per argument fragment `{index, function: {arguments}}`, where fragments alternate word
 * runs and punctuation runs (`{"`, `city`, `":"`, `Paris`, `"}`); `finish_reason: 'tool_calls'`.
 * Each call header and each fragment is one chunk and one token.
 */
export interface ToolCallsReply extends FakeTiming {
  kind: 'tool_calls'
  text?: string
  calls: FakeToolCall[]
  /** Words per content chunk for `text`; default 1. */
  chunkSize?: number
  usage?: FakeUsage
}

/**
 * Streamed tool calls in the shapes other OpenAI-compatible servers produce. Only streams are
 * quirky; a non-stream request gets the clean OpenAI message (`finish_reason: 'tool_calls'`).
 * `max_tokens` is not applied. Every call gets a distinct `call_…` id.
 *
 * - `'ollama'`: chunk 1..n carries call k complete in one delta: `{role: 'assistant',
 *   content: '', tool_calls: [{id, type: 'function', function: {name, arguments: <all>}}]}`,
 *   where calls at even positions (0, 2, …) have `index: 0` and calls at odd positions have no
 *   `index` key at all, so no call is ever told apart by index. The last chunk is
 *   `{delta: {role: 'assistant', content: ''}, finish_reason: 'stop'}`: Ollama reports `stop`,
 *   not `tool_calls`, when it streams calls (ollama/ollama#7963).
 * - `'vllm'`: a role chunk `{role: 'assistant', content: ''}`, then per call k in order a first
 *   fragment `{index: k, id, type: 'function', function: {name, arguments}}` whose `arguments`
 *   is `null` for calls at even positions and the first 3 characters for calls at odd positions,
 *   then the rest of the arguments in 3-character pieces `{index: k, function: {arguments}}`
 *   (split mid-token: `{"c`, `ity`, `":"`, …), with no `id`, `type` or `name`.
 *   `finish_reason: 'tool_calls'`.
 * - `'llamacpp'`: a role chunk `{role: 'assistant', content: null}`, then rounds: chunk r holds
 *   fragment r of every call that still has one, in descending index order (`[call 2, call 1,
 *   call 0]`). Fragment 0 of a call is the OpenAI-style header (`index, id, type, name,
 *   arguments: ''`), later fragments are OpenAI-style argument fragments (`{index, function:
 *   {arguments}}`). So the calls interleave and each chunk lists them backwards; with one call
 *   it is the OpenAI shape. `finish_reason: 'tool_calls'`.
 */
export interface QuirkyToolCallsReply extends FakeTiming {
  kind: 'quirky_tool_calls'
  calls: FakeToolCall[]
  style: 'ollama' | 'vllm' | 'llamacpp'
  usage?: FakeUsage
}

/**
 * An error status with OpenAI's body `{error: {message, type, param, code}}` unless `body` is
 * given (a string body is sent raw as text/plain, e.g. a proxy's HTML page). `headers` are added,
 * e.g. `{'retry-after': '1'}` on a 429. Stream requests get the same plain response.
 */
export interface ErrorReply {
  kind: 'error'
  status: number
  body?: unknown
  headers?: Record<string, string>
}

/**
 * Never finishes; the request stays open until the client aborts (recorded as `aborted`) or
 * the server closes. With `afterChunks` (stream requests only) the first chunks of `text`
 * (default: the echo reply) are sent first, then the stream stalls.
 */
export interface HangReply {
  kind: 'hang'
  afterChunks?: number
  text?: string
}

/**
 * Resets the TCP connection (RST). Without `afterChunks`, or on a non-stream request, before any
 * response byte (the SDK throws `APIConnectionError`); with `afterChunks` on a stream request,
 * after that many content chunks of `text` (default: the echo reply), mid-stream.
 */
export interface ResetReply {
  kind: 'reset'
  afterChunks?: number
  text?: string
}

/**
 * Ends the response cleanly (no RST, no error) without a `finish_reason` chunk or `data: [DONE]`,
 * as a proxy timeout or a crashed inference server does. With `afterChunks` (stream requests
 * only) that many content chunks of `text` (default: the echo reply) go out first; without it
 * the stream ends right after its headers. A non-stream request gets an empty 200 body.
 */
export interface CutReply {
  kind: 'cut'
  afterChunks?: number
  text?: string
}

/**
 * What the fake model does with one request.
 *
 * Honoured request fields: `stream`, `stream_options.include_usage`, `max_completion_tokens`
 * (or `max_tokens`): the reply is cut to that many tokens with `finish_reason: 'length'`. A real
 * model cannot call tools it was not given, so calls are dropped (text kept, `finish_reason:
 * 'stop'`) when the request has no `tools` or `tool_choice: 'none'`, and only the first call is
 * kept with `parallel_tool_calls: false`.
 */
export type Reply = TextReply | ToolCallsReply | QuirkyToolCallsReply | ErrorReply | HangReply | ResetReply | CutReply

/** Chooses the reply for a request; may inspect the request and its earlier ones. */
export type ReplyHandler = (req: RecordedRequest) => Reply | Promise<Reply>

/** How a recorded request ended; `pending` while it is in flight. */
export type RequestOutcome = 'pending' | 'completed' | 'error' | 'aborted' | 'reset'

/**
 * One `POST /v1/chat/completions` as the fake saw it. Times are epoch milliseconds with
 * sub-millisecond precision (`performance.timeOrigin + performance.now()`), comparable with
 * `Date.now()` in other processes on the same machine.
 */
export interface RecordedRequest {
  /** 0-based arrival order since start or the last `reset()`. */
  seq: number
  /** The parsed JSON body, as sent (typed as the SDK's params; not validated beyond `messages`). */
  body: ChatCompletionCreateParams
  headers: IncomingHttpHeaders
  /** From the `x-threadwork-thread` / `x-threadwork-run` headers our worker sends. */
  threadId?: string
  runId?: string
  /** The `chatcmpl-…` id of the response. */
  completionId: string
  /** The reply chosen (after tool policy), once chosen. */
  reply?: Reply
  /** Set when the handler threw; the client got a 500 naming the error. */
  handlerError?: string
  startedAt: number
  /** When the first chunk carrying content or a tool call was written (non-stream: the body). */
  firstChunkAt?: number
  endedAt?: number
  /** True when the client went away before the response was complete. */
  aborted: boolean
  outcome: RequestOutcome
}

/** Two requests of one thread that were in flight at the same time; `a` started first. */
export interface Overlap {
  threadId: string
  a: RecordedRequest
  b: RecordedRequest
}

export interface FakeUpstreamOptions {
  /** Ids served by `GET /v1/models`; default `['fake-model', 'gpt-4o-mini']`. */
  models?: string[]
  /** Initial handler, also restored by `reset()`; default `defaultReply` (the echo). */
  handler?: ReplyHandler
  /** How `POST /v1/embeddings` computes vectors (fake-embeddings.ts `FakeEmbeddingsMode`); default `lexical`. */
  embeddings?: FakeEmbeddingsMode
}

/** A running fake upstream. See `startFakeUpstream`. */
export interface FakeUpstream {
  /** `http://127.0.0.1:<port>/v1`, the SDK's `baseURL`. */
  readonly baseURL: string
  readonly port: number
  /** Chat-completion requests since start or the last `reset()`, in arrival order. */
  readonly requests: RecordedRequest[]
  /** `POST /v1/embeddings` requests since start or the last `reset()`, in arrival order. */
  readonly embeddingRequests: RecordedEmbeddingRequest[]
  /** Queues failures (status, optional body and headers) for the next embeddings requests, in order. */
  respondEmbeddingsOnce(...replies: EmbeddingErrorReply[]): void
  /** Every pair of same-thread requests that overlapped (see {@link Overlap}). */
  readonly overlaps: Overlap[]
  readonly inFlight: number
  readonly maxInFlight: number
  readonly maxInFlightPerThread: number
  /** Replaces the handler used when no one-shot reply is queued. */
  respond(handler: ReplyHandler): void
  /** Queues one-shot replies, consumed in order before the handler is asked. */
  respondOnce(...replies: (Reply | ReplyHandler)[]): void
  /** Resolves with the requests once at least `n` arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>
  /** Clears recordings, overlaps, maxima, queued replies and the handler (back to the default). */
  reset(): void
  /** Drops open connections (in-flight requests are recorded as aborted) and stops listening. */
  close(): Promise<void>
}
