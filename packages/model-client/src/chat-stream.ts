import type OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions'
import { abortReason } from './abort.js'
import { readChatCompletionSSE } from './sse-parser.js'
import { type ToolCall, type ToolCallDelta, type ToolCallNormalizer, createToolCallNormalizer } from './tool-call-normalizer.js'
import { StreamInterruptedError } from './upstream-errors.js'
import { UPSTREAM_CALL, type UpstreamCall, abortUpstreamCall, isUpstreamFetch, newUpstreamCall } from './upstream-fetch.js'

/** A chat completion request; `stream` and `stream_options` are always set by us. */
export type ChatStreamRequest = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'>

export type FinishReason = ChatCompletionChunk.Choice['finish_reason']

export interface ChatUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface ChatStreamResult {
  text: string
  toolCalls: ToolCall[]
  /**
   * The provider's finish reason, except that `'stop'` with tool calls becomes `'tool_calls'`
   * (Ollama and some llama.cpp builds say `stop`). Null only with `requireFinishReason: false`,
   * when the stream ended cleanly without one.
   */
  finishReason: FinishReason
  /** Null when the provider ignored `stream_options.include_usage`; estimate with the token counter. */
  usage: ChatUsage | null
  /** `Date.now()` when the first text or tool call delta arrived. */
  firstTokenAt: number | null
}

export interface StreamChatCompletionParams {
  client: OpenAI
  request: ChatStreamRequest
  /** Aborting ends the request at once; the promise rejects with `signal.reason` (or an AbortError). */
  signal?: AbortSignal
  /** Extra request headers, e.g. `x-threadwork-thread`, `x-threadwork-run`. */
  headers?: Record<string, string>
  /**
   * Called with each text delta. When it returns a promise, the chunks after this one (text, tool
   * calls, the end of the stream) are handled only once it settles (a rejection counts as settled):
   * a reply that arrived in one read then waits behind the caller's first delta instead of
   * competing with it for the CPU. Chunks keep arriving meanwhile; none is lost or reordered.
   */
  onTextDelta?: (delta: string) => unknown
  onToolCallDelta?: (delta: ToolCallDelta) => void
  /**
   * Give up when no chunk arrives for this long (the SDK timeout only covers the wait for
   * headers; a stalled stream would otherwise hang the run). Default 300 000; 0 disables.
   */
  idleTimeoutMs?: number
  /**
   * An OpenAI-compatible stream always ends with a chunk carrying `finish_reason`; one that ends
   * without any was cut (a proxy timeout, a crashed server, a connection closed cleanly mid-reply)
   * and throws `StreamInterruptedError` ({@link STREAM_ENDED_EARLY}). False only for providers known to omit it (route
   * flag `omitsFinishReason`): their streams count as finished. Default true.
   */
  requireFinishReason?: boolean
}

/** The user-safe text of a stream that ended without a finish_reason (the run's `last_error.message`). */
export const STREAM_ENDED_EARLY = "The model's stream ended early (no finish_reason was sent), so the reply is incomplete."

/**
 * Streams one chat completion, forwarding text and normalized tool call deltas as they arrive.
 *
 * Failure contract: errors before any delta was forwarded are rethrown as the SDK raised them
 * (classify with `classifyUpstreamError`, safe to retry); after a delta was forwarded they are
 * wrapped in `StreamInterruptedError` with `outputEmitted: true`, which is never retried, because
 * the caller has already shown that output. An idle stall, and a stream that ends without any
 * `finish_reason` (unless `requireFinishReason` is false), throw `StreamInterruptedError` too.
 */
export async function streamChatCompletion(params: StreamChatCompletionParams): Promise<ChatStreamResult> {
  const { client, request, signal, headers, onTextDelta, onToolCallDelta, idleTimeoutMs = 300_000, requireFinishReason = true } = params
  if (signal?.aborted) throw abortReason(signal)

  // The request is ended (the caller's abort, an idle timeout) through something of our own, so
  // the caller's signal is left alone. Over createUpstreamFetch (every provider's client) that is
  // an UpstreamCall: the SDK makes an AbortController per request, and a second one chained to
  // it cost one more and two listeners per call (issue 14). Over another fetch, our own controller.
  const call: UpstreamCall | null = isUpstreamFetch((client as unknown as { fetch?: unknown }).fetch) ? newUpstreamCall() : null
  const controller = call === null ? new AbortController() : null
  const end = (reason?: unknown): void => {
    if (call !== null) abortUpstreamCall(call, reason ?? new DOMException('This operation was aborted', 'AbortError'))
    else controller!.abort(reason)
  }
  const ended = (): boolean => (call !== null ? call.aborted : controller!.signal.aborted)
  const forwardAbort = () => end(signal?.reason)
  signal?.addEventListener('abort', forwardAbort, { once: true })
  let idle = false
  const idleTimer =
    idleTimeoutMs > 0
      ? setTimeout(() => {
          idle = true
          end()
        }, idleTimeoutMs)
      : undefined

  let text = ''
  let normalizer: ToolCallNormalizer | undefined
  let finishReason: FinishReason = null
  let usage: ChatUsage | null = null
  let firstTokenAt: number | null = null
  let emitted = false

  // Chunks parsed while the caller's delta is on its way (`onTextDelta` returned a promise).
  let hold: PromiseLike<unknown> | null = null
  const held: ChatCompletionChunk[] = []
  let heldFailed = false
  const onChunk = (chunk: ChatCompletionChunk): void => {
    if (hold !== null) held.push(chunk)
    else handle(chunk)
  }
  /** Waits for the hold, then handles the chunks held behind it in order (each may hold again). */
  const release = async (): Promise<void> => {
    while (hold !== null) {
      await hold.then(undefined, () => {})
      hold = null
      // Aborted meanwhile: what came after is not forwarded, as reading would have stopped.
      if (ended()) held.length = 0
      try {
        while (held.length > 0 && hold === null) handle(held.shift()!)
      } catch (err) {
        heldFailed = true
        throw err
      }
    }
  }
  const between = () => (hold === null ? undefined : release())

  // Per-chunk work stays O(delta): a benchmark drives 2,000 of these in one process.
  const handle = (chunk: ChatCompletionChunk): void => {
    // Timeout#refresh re-arms the timer without allocating a new one.
    idleTimer?.refresh()
    if (chunk.usage) usage = chunk.usage
    const choice = chunk.choices?.[0]
    if (choice === undefined) return
    const delta = choice.delta
    if (delta) {
      const content = delta.content
      if (content) {
        firstTokenAt ??= Date.now()
        text += content
        if (onTextDelta) {
          emitted = true
          const wait = onTextDelta(content)
          if (isThenable(wait)) hold = wait
        }
      }
      if (delta.tool_calls) {
        normalizer ??= createToolCallNormalizer()
        const deltas = normalizer.push(delta.tool_calls)
        if (deltas.length > 0) {
          firstTokenAt ??= Date.now()
          if (onToolCallDelta) {
            emitted = true
            for (const d of deltas) onToolCallDelta(d)
          }
        }
      }
    }
    if (choice.finish_reason) finishReason = choice.finish_reason
  }

  try {
    // The SDK sends the request, retries it and raises its error classes for a non-2xx status; a
    // 2xx body is parsed by sse-parser.ts, as the SDK's Stream would parse it but without its chain
    // of web streams and async generators (~0.75 ms to the first chunk, issue 14).
    const response = await client.chat.completions
      .create(
        { ...request, stream: true, stream_options: { include_usage: true } },
        call !== null
          ? { headers, fetchOptions: { [UPSTREAM_CALL]: call } as NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>['fetchOptions'] }
          : { signal: controller!.signal, headers },
      )
      .asResponse()
    await readChatCompletionSSE(response, onChunk, between)
    await release()
  } catch (caught) {
    let err = caught
    // What the stream delivered before it failed is still forwarded first, as without a hold;
    // not after the caller itself failed on a held chunk.
    if (held.length > 0 && !heldFailed) await release().catch((e: unknown) => (err = e))
    if (signal?.aborted) throw abortReason(signal)
    if (idle) throw idleError(idleTimeoutMs, emitted)
    if (emitted) throw new StreamInterruptedError('The upstream model stream was interrupted.', true, { cause: err })
    throw err
  } finally {
    clearTimeout(idleTimer)
    signal?.removeEventListener('abort', forwardAbort)
  }
  // Reading ends quietly when the request is aborted (as the SDK's Stream does), so an abort can also land here.
  if (signal?.aborted) throw abortReason(signal)
  if (idle) throw idleError(idleTimeoutMs, emitted)

  // Before any output this is retried like other transient faults; after output it fails the run.
  if (finishReason === null && requireFinishReason) throw new StreamInterruptedError(STREAM_ENDED_EARLY, emitted)

  const toolCalls = normalizer ? normalizer.calls() : []
  if (toolCalls.length > 0 && (finishReason === 'stop' || finishReason === null)) finishReason = 'tool_calls'
  return { text, toolCalls, finishReason, usage: usage && normalizeUsage(usage), firstTokenAt }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | null)?.then === 'function'

function idleError(ms: number, emitted: boolean): StreamInterruptedError {
  return new StreamInterruptedError(`The upstream model sent nothing for ${Math.round(ms / 1000)}s.`, emitted)
}

// Providers add extra fields (DeepSeek's prompt_cache_hit_tokens, …) and some omit total_tokens.
function normalizeUsage(u: Partial<ChatUsage>): ChatUsage {
  const prompt = u.prompt_tokens ?? 0
  const completion = u.completion_tokens ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.total_tokens ?? prompt + completion }
}
