import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import { describe, expect, it } from 'vitest'
import { StreamInterruptedError, UpstreamError, classifyUpstreamError, contextLengthExceeded, retryAfterMs } from './upstream-errors.js'
import { createUpstreamFetch } from './upstream-fetch.js'

const apiError = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
  APIError.generate(status, body as object | undefined, undefined, new Headers(headers))

describe('classifyUpstreamError', () => {
  it('429 is a retryable rate limit carrying retry-after', () => {
    const c = classifyUpstreamError(apiError(429, { error: { message: 'slow down' } }, { 'retry-after': '3' }))
    expect(c).toMatchObject({ aborted: false, retryable: true, code: 'rate_limit_exceeded', status: 429, retryAfterMs: 3000 })
  })

  it('429 insufficient_quota is not retryable', () => {
    const c = classifyUpstreamError(apiError(429, { error: { message: 'quota', code: 'insufficient_quota' } }))
    expect(c).toMatchObject({ retryable: false, code: 'rate_limit_exceeded' })
  })

  it.each([408, 409, 500, 502, 503, 504])('%i is a retryable server_error', (status) => {
    expect(classifyUpstreamError(apiError(status))).toMatchObject({ retryable: true, code: 'server_error', status })
  })

  it('honours x-should-retry: false on a 5xx', () => {
    expect(classifyUpstreamError(apiError(500, undefined, { 'x-should-retry': 'false' }))).toMatchObject({ retryable: false })
  })

  it('connection errors, timeouts and socket resets are retryable server_error', () => {
    const reset = Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) })
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    for (const err of [new APIConnectionError({ message: 'x' }), new APIConnectionTimeoutError(), reset, refused]) {
      expect(classifyUpstreamError(err)).toMatchObject({ aborted: false, retryable: true, code: 'server_error' })
    }
  })

  it('400/422 are not retryable invalid_prompt with the provider message', () => {
    const c = classifyUpstreamError(apiError(400, { error: { message: "This model's maximum context length is 8192 tokens." } }))
    expect(c).toMatchObject({ retryable: false, code: 'invalid_prompt', message: "This model's maximum context length is 8192 tokens." })
    expect(classifyUpstreamError(apiError(422, { error: 'bad' }))).toMatchObject({ retryable: false, code: 'invalid_prompt', message: 'bad' })
  })

  it('401/403 never echo the provider text (it can quote the key)', () => {
    const c = classifyUpstreamError(apiError(401, { error: { message: 'Incorrect API key provided: sk-abc***xyz.' } }))
    expect(c).toMatchObject({ retryable: false, code: 'server_error' })
    expect(JSON.stringify(c)).not.toContain('sk-')
  })

  it('404 is a non-retryable server_error and its message is redacted', () => {
    const c = classifyUpstreamError(apiError(404, { error: { message: 'model x not at https://user:secret@host/v1?api_key=abc' } }))
    expect(c).toMatchObject({ retryable: false, code: 'server_error', status: 404 })
    if (c.aborted) throw new Error('unexpected')
    expect(c.message).not.toContain('secret')
    expect(c.message).not.toContain('abc')
    expect(c.message).toContain('https://***@host/v1?api_key=***')
  })

  it('an error event inside a stream follows its code/type', () => {
    const mid = (error: object) => new APIError(undefined, error, undefined, undefined)
    expect(classifyUpstreamError(mid({ message: 'x' }))).toMatchObject({ retryable: true, code: 'server_error' })
    expect(classifyUpstreamError(mid({ message: 'x', code: 'rate_limit_exceeded' }))).toMatchObject({ retryable: true, code: 'rate_limit_exceeded' })
    expect(classifyUpstreamError(mid({ message: 'too long', type: 'invalid_request_error' }))).toMatchObject({ retryable: false, code: 'invalid_prompt' })
  })

  it('our abort is reported as aborted', () => {
    expect(classifyUpstreamError(new APIUserAbortError())).toEqual({ aborted: true })
    expect(classifyUpstreamError(new DOMException('x', 'AbortError'))).toEqual({ aborted: true })
  })

  it('an interrupted stream is retryable only if nothing was emitted', () => {
    const cause = apiError(503)
    expect(classifyUpstreamError(new StreamInterruptedError('x', false, { cause }))).toMatchObject({ retryable: true, code: 'server_error' })
    expect(classifyUpstreamError(new StreamInterruptedError('x', true, { cause }))).toMatchObject({ retryable: false, code: 'server_error' })
    expect(classifyUpstreamError(new StreamInterruptedError('ended early', false))).toMatchObject({ retryable: true })
  })

  it('unknown errors are non-retryable with a generic message', () => {
    const c = classifyUpstreamError(new TypeError('cannot read properties of undefined (sk-secret-leak)'))
    expect(c).toMatchObject({ retryable: false, code: 'server_error' })
    expect(JSON.stringify(c)).not.toContain('secret')
  })

  it('re-classifies an UpstreamError as itself', () => {
    const e = new UpstreamError({ retryable: false, code: 'invalid_prompt', message: 'm', status: 400, retryAfterMs: null })
    expect(classifyUpstreamError(e)).toMatchObject({ retryable: false, code: 'invalid_prompt', message: 'm' })
    expect(e.toLastError()).toEqual({ code: 'invalid_prompt', message: 'm' })
  })
})

describe('retryAfterMs', () => {
  const h = (o: Record<string, string>) => new Headers(o)
  it('prefers retry-after-ms, then seconds, then an HTTP date', () => {
    expect(retryAfterMs(h({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250)
    expect(retryAfterMs(h({ 'retry-after': '1.5' }))).toBe(1500)
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(retryAfterMs(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }), now)).toBe(7000)
    expect(retryAfterMs(h({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now)).toBe(0)
  })
  it('ignores junk and absence', () => {
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeNull()
    expect(retryAfterMs(h({ 'retry-after-ms': '-5' }))).toBeNull()
    expect(retryAfterMs(h({}))).toBeNull()
    expect(retryAfterMs(undefined)).toBeNull()
  })
})

describe('contextLengthExceeded', () => {
  const wrapped = (err: unknown) => new UpstreamError({ retryable: false, code: 'invalid_prompt', message: 'x', status: 400, retryAfterMs: null }, { cause: err })
  it('recognises OpenAI/vLLM/DeepSeek, llama.cpp and gateway texts through the wrapping error, with the window when named', () => {
    const openai = apiError(400, { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", code: 'context_length_exceeded', type: 'invalid_request_error' } })
    expect(contextLengthExceeded(wrapped(openai))).toEqual({ maxTokens: 8192 })
    const llamacpp = apiError(400, { error: { message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' } })
    expect(contextLengthExceeded(wrapped(llamacpp))).toEqual({ maxTokens: null })
    expect(contextLengthExceeded(apiError(400, { error: { message: 'prompt is too long: 210000 tokens > 200000 maximum' } }))).toEqual({ maxTokens: null })
  })
  it('is null for other errors', () => {
    expect(contextLengthExceeded(wrapped(apiError(400, { error: { message: "Invalid value for 'temperature'." } })))).toBeNull()
    expect(contextLengthExceeded(wrapped(apiError(500, undefined)))).toBeNull()
    expect(contextLengthExceeded(new Error('context length'))).toBeNull()
  })
})

describe('UpstreamError.describeCause', () => {
  it.each([
    ['Node fetch', undefined],
    ['undici request (upstream-fetch.ts)', createUpstreamFetch()],
  ] as const)('names what failed for the log: a refused connection to a real closed port, with the address, and no key (over %s)', async (_name, fetchImpl) => {
    // A port that was just free: nothing listens there.
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    await new Promise((r) => server.close(r))
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-secret-upstream-key-123456', maxRetries: 0, fetch: fetchImpl })
    const err = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(APIConnectionError)
    const failure = classifyUpstreamError(err)
    if (failure.aborted) throw new Error('not an abort')
    const wrapped = new UpstreamError(failure, { attempts: 1, cause: err })
    expect(wrapped.message).toBe('Could not connect to the upstream model provider.')
    expect(wrapped.describeCause()).toMatch(/^APIConnectionError: Connection error\. ← .*ECONNREFUSED/)
    expect(wrapped.describeCause()).toContain(`127.0.0.1:${port}`)
    expect(wrapped.describeCause()).not.toContain('sk-secret')
  })

  it('redacts keys a provider echoes, and falls back to the message without a cause', () => {
    const e401 = apiError(401, { error: { message: 'Incorrect API key provided: sk-abc***wxyz.', code: 'invalid_api_key' } })
    const wrapped = new UpstreamError({ retryable: false, code: 'server_error', message: 'm', status: 401, retryAfterMs: null }, { cause: e401 })
    expect(wrapped.describeCause()).toMatch(/^AuthenticationError: 401 Incorrect API key provided: sk-\*\*\* \(invalid_api_key\)$/)
    expect(new UpstreamError({ retryable: true, code: 'server_error', message: 'plain', status: null, retryAfterMs: null }).describeCause()).toBe('plain')
  })
})
