import OpenAI, { APIConnectionTimeoutError, AuthenticationError } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { type ChatServer, startChatServer } from './test-support/chat-server.js'
import { createUpstreamFetch } from './upstream-fetch.js'

// Streams, aborts, resets, idle stalls and refused connections over this transport: chat-stream.test.ts
// and upstream-errors.test.ts run each of theirs over both Node's fetch and this one.

let server: ChatServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})
const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] }

describe('createUpstreamFetch under the openai SDK', () => {
  it('answers a non-stream call, with the status, headers and body the SDK reads', async () => {
    server = await startChatServer(() => ({
      headers: { 'x-request-id': 'req_up_1' },
      json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'yo' }, finish_reason: 'stop' }] },
    }))
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries: 0, fetch: createUpstreamFetch() })
    const { data, response } = await client.chat.completions.create(request).withResponse()
    expect(data.choices[0]?.message.content).toBe('yo')
    expect(response.headers.get('x-request-id')).toBe('req_up_1')
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-test')
    expect(server.requests[0]?.body).toMatchObject(request)
  })

  it("an error status is the SDK's typed error with the provider's message", async () => {
    server = await startChatServer(() => ({ status: 401, json: { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } } }))
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries: 0, fetch: createUpstreamFetch() })
    const err = await client.chat.completions.create(request).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthenticationError)
    expect((err as AuthenticationError).message).toContain('bad key')
  })

  it("the SDK's own timeout (headers not in time) is its APIConnectionTimeoutError, as over fetch", async () => {
    server = await startChatServer(async () => {
      await new Promise((r) => setTimeout(r, 2_000))
      return { json: {} }
    })
    for (const fetchImpl of [undefined, createUpstreamFetch()]) {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries: 0, timeout: 100, fetch: fetchImpl })
      expect(await client.chat.completions.create(request).catch((e: unknown) => e)).toBeInstanceOf(APIConnectionTimeoutError)
    }
  })
})
