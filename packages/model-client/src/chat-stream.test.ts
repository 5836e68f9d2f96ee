import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { STREAM_ENDED_EARLY, streamChatCompletion } from './chat-stream.js'
import { type ChatServer, type ChatServerHandler, chunk, startChatServer, textReply, usageChunk } from './test-support/chat-server.js'
import type { ToolCallDelta } from './tool-call-normalizer.js'
import { StreamInterruptedError, classifyUpstreamError } from './upstream-errors.js'
import { createUpstreamFetch } from './upstream-fetch.js'
import { withUpstreamRetries } from './upstream-retries.js'

let server: ChatServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** The transport under the SDK: Node's fetch, or the providers' own (upstream-fetch.ts); every test runs over both. */
let transport: typeof fetch | undefined
const setup = async (handler: ChatServerHandler) => {
  server = await startChatServer(handler)
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'test', maxRetries: 0, fetch: transport })
  return { client, server }
}

const request = { model: 'test-model', messages: [{ role: 'user' as const, content: 'hi' }] }

describe.each([
  ['Node fetch', undefined],
  ['undici request (upstream-fetch.ts)', createUpstreamFetch()],
] as const)('streamChatCompletion over %s', (_name, fetchImpl) => {
  beforeEach(() => {
    transport = fetchImpl
  })
  it('streams text, reports usage and forwards headers', async () => {
    const { client, server } = await setup(() => ({ sse: textReply(['Hel', 'lo', '!'], [12, 3]) }))
    const deltas: string[] = []
    const before = Date.now()
    const result = await streamChatCompletion({
      client,
      request,
      headers: { 'x-threadwork-thread': 'thread_1', 'x-threadwork-run': 'run_1' },
      onTextDelta: (d) => deltas.push(d),
    })
    expect(deltas).toEqual(['Hel', 'lo', '!'])
    expect(result).toMatchObject({ text: 'Hello!', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } })
    expect(result.firstTokenAt).toBeGreaterThanOrEqual(before)
    const sent = server.requests[0]
    expect(sent?.body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true } })
    expect(sent?.headers['x-threadwork-thread']).toBe('thread_1')
    expect(sent?.headers['x-threadwork-run']).toBe('run_1')
  })

  it('normalizes streamed tool calls and infers tool_calls from a "stop"', async () => {
    const { client } = await setup(() => ({
      sse: [
        chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: null } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
        chunk({ tool_calls: [{ index: 0, id: 'call_y', function: { name: 'get_time', arguments: '{}' } }] }),
        chunk({}, 'stop'),
        '[DONE]',
      ],
    }))
    const deltas: ToolCallDelta[] = []
    const result = await streamChatCompletion({ client, request, onToolCallDelta: (d) => deltas.push(d) })
    expect(result.toolCalls).toEqual([
      { id: 'call_x', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_y', name: 'get_time', arguments: '{}' },
    ])
    expect(result.finishReason).toBe('tool_calls')
    expect(result.usage).toBeNull()
    expect(deltas.map((d) => d.index)).toEqual([0, 0, 0, 1])
    expect(result.firstTokenAt).not.toBeNull()
  })

  it('keeps a usage object sent on a choice chunk and fills total_tokens', async () => {
    const { client } = await setup(() => ({
      sse: [chunk({ content: 'x' }), chunk({}, 'length', { usage: { prompt_tokens: 4, completion_tokens: 1 } }), '[DONE]'],
    }))
    const result = await streamChatCompletion({ client, request })
    expect(result).toMatchObject({ finishReason: 'length', usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 } })
  })

  it('a stream that ends cleanly without any finish_reason was cut: interrupted, never a finished reply', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ role: 'assistant' }), chunk({ content: 'The answer is forty' })] }))
    const deltas: string[] = []
    const cut = await streamChatCompletion({ client, request, onTextDelta: (d) => deltas.push(d) }).catch((e: unknown) => e)
    expect(cut).toBeInstanceOf(StreamInterruptedError)
    expect(cut).toMatchObject({ message: STREAM_ENDED_EARLY, outputEmitted: true })
    expect(deltas).toEqual(['The answer is forty'])
    // Nothing shown yet: retryable like other transient faults.
    const early = await streamChatCompletion({ client, request: { ...request } }).catch((e: unknown) => e)
    expect(early).toMatchObject({ message: STREAM_ENDED_EARLY, outputEmitted: false })
    expect(classifyUpstreamError(early)).toMatchObject({ retryable: true, code: 'server_error' })
    expect(classifyUpstreamError(cut)).toMatchObject({ retryable: false, code: 'server_error', message: STREAM_ENDED_EARLY })
  })

  it('a provider marked as omitting finish_reason (requireFinishReason: false) keeps the old behaviour', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ content: 'whole' }), '[DONE]'] }))
    const result = await streamChatCompletion({ client, request, requireFinishReason: false })
    expect(result).toMatchObject({ text: 'whole', finishReason: null })
    await expect(streamChatCompletion({ client, request })).rejects.toMatchObject({ message: STREAM_ENDED_EARLY })
  })

  it('what follows a delta waits for the promise onTextDelta returned, then goes on in order', async () => {
    // The reply arrives at once (no delay between events): without the hold, every delta and the
    // end would be handled long before the first delta's promise settles.
    const { client } = await setup(() => ({
      sse: [chunk({ role: 'assistant', content: 'Hel' }), chunk({ content: 'lo' }), chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }), chunk({}, 'stop'), '[DONE]'],
    }))
    const log: string[] = []
    let release = () => {}
    const first = new Promise<void>((resolve) => {
      release = () => {
        log.push('settled')
        resolve()
      }
    })
    const streaming = streamChatCompletion({
      client,
      request,
      onTextDelta: (d) => {
        log.push(d)
        return log.length === 1 ? first : undefined
      },
      onToolCallDelta: (d) => void log.push(`call ${d.index}`),
    })
    // The whole reply has arrived: nothing after the first delta is handled until the hold settles.
    await vi.waitFor(() => expect(log).toEqual(['Hel']))
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['Hel'])
    release()
    const result = await streaming
    log.push('returned')
    expect(log).toEqual(['Hel', 'settled', 'lo', 'call 0', 'returned'])
    expect(result).toMatchObject({ text: 'Hello', finishReason: 'tool_calls', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{}' }] })
  })

  it('a rejected hold counts as settled; a stream cut while holding still forwards what arrived first', async () => {
    const { client } = await setup(() => ({ sse: textReply(['a', 'b', 'c']), destroyAfter: 3 }))
    const deltas: string[] = []
    const err = await streamChatCompletion({
      client,
      request,
      onTextDelta: (d) => {
        deltas.push(d)
        return deltas.length === 1 ? Promise.reject(new Error('append failed')) : undefined
      },
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamInterruptedError)
    expect(deltas).toEqual(['a', 'b'])
  })

  it('aborts a held-open stream promptly with the signal reason', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ content: 'partial' })], hold: true }))
    const controller = new AbortController()
    const reason = new Error('cancelled by user')
    const started = Date.now()
    const pending = streamChatCompletion({ client, request, signal: controller.signal, onTextDelta: () => controller.abort(reason) })
    await expect(pending).rejects.toBe(reason)
    // The stream is held open for ever: ending at all is the point; the bound is loose for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('abort without a reason rejects with an AbortError', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ content: 'x' })], hold: true }))
    const controller = new AbortController()
    const err = await streamChatCompletion({ client, request, signal: controller.signal, onTextDelta: () => controller.abort() }).catch((e: unknown) => e)
    expect(classifyUpstreamError(err)).toEqual({ aborted: true })
  })

  it('a reset before any output is rethrown as is (retryable)', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ role: 'assistant' }), chunk({ content: 'x' })], destroyAfter: 1 }))
    const err = await streamChatCompletion({ client, request, onTextDelta: () => {} }).catch((e: unknown) => e)
    expect(err).not.toBeInstanceOf(StreamInterruptedError)
    expect(classifyUpstreamError(err)).toMatchObject({ retryable: true, code: 'server_error' })
  })

  it('a reset after output was forwarded is never retried', async () => {
    const { client } = await setup(() => ({ sse: textReply(['a', 'b', 'c']), destroyAfter: 2 }))
    const err = await streamChatCompletion({ client, request, onTextDelta: () => {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamInterruptedError)
    expect(classifyUpstreamError(err)).toMatchObject({ retryable: false, code: 'server_error' })
  })

  it('an idle stream times out', async () => {
    const { client } = await setup(() => ({ sse: [chunk({ role: 'assistant' })], hold: true }))
    const err = await streamChatCompletion({ client, request, idleTimeoutMs: 100 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamInterruptedError)
    expect(classifyUpstreamError(err)).toMatchObject({ retryable: true })
  })

  it('the idle timeout also ends a wait for the response headers', async () => {
    const { client } = await setup(async () => {
      await new Promise((r) => setTimeout(r, 3_000))
      return { sse: textReply(['late']) }
    })
    const started = Date.now()
    const err = await streamChatCompletion({ client, request, idleTimeoutMs: 100 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamInterruptedError)
    expect((err as Error).message).toContain('sent nothing')
    expect(classifyUpstreamError(err)).toMatchObject({ retryable: true })
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('an abort while waiting for the response headers rejects with the signal reason', async () => {
    const { client } = await setup(async () => {
      await new Promise((r) => setTimeout(r, 3_000))
      return { sse: textReply(['late']) }
    })
    const controller = new AbortController()
    const reason = new Error('cancelled by user')
    setTimeout(() => controller.abort(reason), 50)
    const started = Date.now()
    await expect(streamChatCompletion({ client, request, signal: controller.signal })).rejects.toBe(reason)
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('an error event inside the stream is thrown', async () => {
    const { client } = await setup(() => ({ sse: [{ error: { message: 'overloaded', type: 'server_error' } }] }))
    const err = await streamChatCompletion({ client, request }).catch((e: unknown) => e)
    expect(classifyUpstreamError(err)).toMatchObject({ retryable: true, code: 'server_error' })
  })

  it('works with withUpstreamRetries: 429 with retry-after, then success', async () => {
    const { client, server } = await setup((_req, nth) =>
      nth === 1
        ? { status: 429, headers: { 'retry-after-ms': '20' }, json: { error: { message: 'Rate limit', type: 'requests', code: 'rate_limit_exceeded' } } }
        : { sse: textReply(['ok']) },
    )
    const retries: number[] = []
    const result = await withUpstreamRetries(() => streamChatCompletion({ client, request }), { onRetry: (i) => retries.push(i.delayMs) })
    expect(result.text).toBe('ok')
    expect(retries).toHaveLength(1)
    expect(retries[0]).toBeGreaterThanOrEqual(20)
    expect(server.requests).toHaveLength(2)
  })

  it('runs many concurrent streams in one process', async () => {
    const pieces = Array.from({ length: 20 }, (_, i) => `t${i} `)
    const { client } = await setup(() => ({ sse: [...textReply(pieces).slice(0, -3), chunk({}, 'stop'), usageChunk(5, 20), '[DONE]'] }))
    // Correctness only: how fast is the bench's business (a deadline here failed on a loaded machine).
    const results = await Promise.all(Array.from({ length: 300 }, () => streamChatCompletion({ client, request, onTextDelta: () => {} })))
    expect(results.every((r) => r.text === pieces.join('') && r.usage?.completion_tokens === 20)).toBe(true)
  })
})
