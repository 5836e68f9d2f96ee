import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI, { APIConnectionTimeoutError, AuthenticationError } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { type ChatServer, startChatServer } from './test-support/chat-server.js'
import { createUpstreamFetch, newUpstreamCall, rawBodyOf, UPSTREAM_CALL } from './upstream-fetch.js'

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
      json: {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'yo' }, finish_reason: 'stop' }],
      },
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

describe('createUpstreamFetch: a body that arrives in one read', () => {
  let raw: Server | undefined
  afterEach(async () => {
    await new Promise((r) => raw?.close(r))
    raw = undefined
  })

  it("hands the first chunk over, then the rest and the end, in order (a paused parser resumes, also on a body's last byte)", async () => {
    // A reply whose chunks all come in one write, once the reader waits (the first pauses undici's parser).
    let send!: () => void
    raw = createServer((req, res) => {
      res.writeHead(200, { 'content-type': req.url === '/cl' ? 'text/plain' : 'text/event-stream' })
      res.flushHeaders()
      send = () => {
        res.socket!.cork()
        // /cl: one body chunk, so the pause is on its last byte.
        if (req.url === '/cl') res.end('all of it')
        else {
          for (const part of ['one ', 'two ', 'three ']) res.write(part)
          res.end('four')
        }
        process.nextTick(() => res.socket?.uncork())
      }
    })
    await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`
    const fetchImpl = createUpstreamFetch()
    for (const path of ['/chunked', '/cl', '/chunked']) {
      const response = await fetchImpl(`${base}${path}`, { [UPSTREAM_CALL]: newUpstreamCall() } as RequestInit)
      const body = rawBodyOf(response)!
      const first = body.next()
      send()
      const chunks = [new TextDecoder().decode((await first).value)]
      for (let r = await body.next(); !r.done; r = await body.next()) chunks.push(new TextDecoder().decode(r.value))
      expect(chunks.join('')).toBe(path === '/cl' ? 'all of it' : 'one two three four')
      if (path !== '/cl') expect(chunks[0]).toBe('one ')
    }
  })
})
