/**
 * Issue 12 items 7 and 10: requests at the edges of the HTTP surface, answered as OpenAI does.
 * - Unknown routes: matched before the body is read, so any body gets 404 `Invalid URL (POST /v1/…)`;
 *   a trailing slash is a different (unknown) URL, not a 405 that lists the method used.
 * - Metadata: a non-string value is a 400 naming the key; every key sent is stored and returned or
 *   refused (`__proto__`), never silently dropped; JSON nested deeper than accepted says so.
 */
import net from 'node:net'
import type { ApiServer } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, startStack } from './support.js'

let server: ApiServer
let client: OpenAI

beforeAll(async () => {
  ;({ server, client } = await startStack({ maxBodyBytes: 64 * 1024 }))
})
afterAll(() => server?.close())

const auth = () => ({ authorization: `Bearer ${server.apiKey}` })

async function errorOf(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return ((await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }).error
}

describe('unknown routes (item 7)', () => {
  it('a multipart POST to a path nobody serves → 404 Invalid URL, not 415', async () => {
    const form = new FormData()
    form.append('purpose', 'assistants')
    form.append('file', new Blob(['hello']), 'hello.txt')
    const res = await fetch(`${server.baseURL}/no-such-resource`, { method: 'POST', headers: auth(), body: form })
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toEqual({ message: 'Invalid URL (POST /v1/no-such-resource)', type: 'invalid_request_error', param: null, code: null })
  })

  it('an oversized POST to a path nobody serves → 404 Invalid URL, not 413', async () => {
    const res = await fetch(`${server.baseURL}/threads/thread_x/nothing`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(256 * 1024) }),
    })
    expect(res.status).toBe(404)
    expect((await errorOf(res)).message).toBe('Invalid URL (POST /v1/threads/thread_x/nothing)')
  })

  it('a text/plain POST with the wrong method on a known path → 405 with Allow, not 415', async () => {
    const res = await fetch(`${server.baseURL}/assistants`, { method: 'PUT', headers: { ...auth(), 'content-type': 'text/plain' }, body: 'x' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'POST'])
  })

  it('a trailing slash is an unknown URL (404, as OpenAI answers it), for every method', async () => {
    for (const [method, path] of [
      ['GET', '/assistants/'],
      ['POST', '/assistants/'],
      ['POST', '/threads/'],
      ['GET', '/models/'],
    ] as const) {
      const res = await fetch(`${server.baseURL}${path}`, { method, headers: { ...auth(), 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.headers.get('allow')).toBeNull()
      expect(await errorOf(res)).toMatchObject({ message: `Invalid URL (${method} /v1${path})`, type: 'invalid_request_error' })
    }
    // Through the SDK: a NotFoundError, not a 405 that lists GET while GET was used.
    const err = await apiError(() => client.get('/assistants/'))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('known routes still read their bodies: 415 and 413 where a route serves the path', async () => {
    const text = await fetch(`${server.baseURL}/assistants`, { method: 'POST', headers: { ...auth(), 'content-type': 'text/plain' }, body: 'model=x' })
    expect(text.status).toBe(415)
    const big = await fetch(`${server.baseURL}/assistants`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', instructions: 'x'.repeat(128 * 1024) }),
    })
    expect(big.status).toBe(413)
  })
})

/**
 * One raw HTTP/1.1 exchange on a fresh socket: `first` (a request with a chunked oversized body),
 * then, once its response head is in, `second` on the same socket. Returns the first response's head
 * and whether the second was answered (false: the server closed the socket instead).
 */
async function twoOnOneSocket(first: string | Buffer, second: string): Promise<{ head: string; secondAnswered: boolean }> {
  const { hostname, port } = new URL(server.baseURL)
  const socket = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''))
  let received = ''
  let head = ''
  return new Promise((resolve, reject) => {
    socket.on('error', () => {}) // a reset after our second write is an answer too: the socket was closed
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
      if (!head && received.includes('\r\n\r\n')) {
        head = received.slice(0, received.indexOf('\r\n\r\n'))
        received = ''
        socket.write(second)
      } else if (head && received.startsWith('HTTP/1.1 ')) {
        socket.destroy()
        resolve({ head, secondAnswered: true })
      }
    })
    socket.on('close', () => (head ? resolve({ head, secondAnswered: false }) : reject(new Error('closed before any answer'))))
    socket.write(first)
  })
}

describe('413 on a chunked body', () => {
  it('an oversized chunked body → 413, and the socket is either usable for the next request or announced closed', async () => {
    // Well past the limit (64 KiB here), so that much of it is still unread when the 413 is sent.
    const body = JSON.stringify({ model: 'm', instructions: 'x'.repeat(4 * 1024 * 1024) })
    const request = Buffer.concat([
      Buffer.from(`POST /v1/assistants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.apiKey}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`),
      Buffer.from(`${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`),
    ])
    const { head, secondAnswered } = await twoOnOneSocket(request, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(head).toMatch(/^HTTP\/1\.1 413 /)
    // A client (the SDKs' keep-alive pools) reuses a socket the answer does not close: closing it
    // without `Connection: close` fails the client's next, unrelated request.
    if (!secondAnswered) expect(head.toLowerCase()).toMatch(/\r\nconnection: close(\r\n|$)/)
  })
})

describe('requests Node refuses before any route', () => {
  it('a request line or headers past Node\'s 16 KiB limit → 431 with an OpenAI error body, not an empty one', async () => {
    const res = await fetch(`${server.baseURL}/assistants?after=${'a'.repeat(20 * 1024)}`, { headers: auth() })
    expect(res.status).toBe(431)
    expect(await errorOf(res)).toEqual({
      message: 'Request header fields too large: the request line and headers may take at most 16384 bytes.',
      type: 'invalid_request_error',
      param: null,
      code: 'request_header_fields_too_large',
    })
  })

  it('bytes that are not HTTP → 400 with an OpenAI error body, and the socket closed', async () => {
    const { hostname, port } = new URL(server.baseURL)
    const socket = net.connect(Number(port), hostname)
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
    await new Promise((resolve) => {
      socket.on('close', resolve)
      socket.write('NOT HTTP AT ALL\r\n\r\n')
    })
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n')
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { message: 'The request is not valid HTTP/1.1.', type: 'invalid_request_error', param: null, code: 'invalid_http_request' },
    })
  })
})

describe('metadata edge cases (item 10)', () => {
  it('a nested object value → 400 with param naming the key, on every resource', async () => {
    const nested = { plain: 'ok', deep: { a: 'b' } } as never
    const thread = await client.beta.threads.create()
    for (const call of [
      () => client.beta.assistants.create({ model: 'm', metadata: nested }),
      () => client.beta.threads.create({ metadata: nested }),
      () => client.beta.threads.update(thread.id, { metadata: nested }),
      () => client.beta.threads.messages.create(thread.id, { role: 'user', content: 'x', metadata: nested }),
    ]) {
      const err = await apiError(call)
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toEqual({
        message: "Invalid type for 'metadata.deep': expected a string, but got an object instead.",
        type: 'invalid_request_error',
        param: 'metadata.deep',
        code: 'invalid_type',
      })
    }
    // Nothing was written: the thread still has no metadata and no messages.
    expect((await client.beta.threads.retrieve(thread.id)).metadata).toEqual({})
    expect((await client.beta.threads.messages.list(thread.id)).data).toHaveLength(0)
  })

  it('__proto__ is refused with a 400 naming it (never silently dropped), with a string or an object value', async () => {
    const before = (await client.beta.assistants.list({ limit: 100 })).data.length
    for (const body of ['{"model":"m","metadata":{"__proto__":"x","k":"v"}}', '{"model":"m","metadata":{"__proto__":{"b":"c"}}}']) {
      const res = await fetch(`${server.baseURL}/assistants`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body })
      expect(res.status).toBe(400)
      expect(await errorOf(res)).toEqual({
        message: "Invalid property name in 'metadata': '__proto__' is not accepted as a key.",
        type: 'invalid_request_error',
        param: 'metadata.__proto__',
        code: 'invalid_value',
      })
    }
    const onMessage = await fetch(`${server.baseURL}/threads`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: '{"messages":[{"role":"user","content":"x","metadata":{"__proto__":"x"}}]}',
    })
    expect(onMessage.status).toBe(400)
    expect((await errorOf(onMessage)).param).toBe('messages[0].metadata.__proto__')
    expect((await client.beta.assistants.list({ limit: 100 })).data).toHaveLength(before)
  })

  it('every other key is stored and returned as sent, Object.prototype names included', async () => {
    const metadata = { constructor: 'c', toString: 't', hasOwnProperty: 'h', 'key with spaces': 'v', 'ünïcödé': 'ü', '': 'empty key', valueOf: '' }
    const assistant = await client.beta.assistants.create({ model: 'm', metadata })
    expect(assistant.metadata).toEqual(metadata)
    expect((await client.beta.assistants.retrieve(assistant.id)).metadata).toEqual(metadata)
    const thread = await client.beta.threads.create({ metadata })
    expect((await client.beta.threads.retrieve(thread.id)).metadata).toEqual(metadata)
    const message = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'x', metadata })
    expect((await client.beta.threads.messages.retrieve(message.id, { thread_id: thread.id })).metadata).toEqual(metadata)
  })

  it('valid JSON nested deeper than accepted → 400 saying so (not "malformed JSON"), nothing stored', async () => {
    const before = (await client.beta.assistants.list({ limit: 100 })).data.length
    for (const levels of [100, 5_000]) {
      const parameters = `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
      const body = `{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":${parameters}}}]}`
      const res = await fetch(`${server.baseURL}/assistants`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body })
      expect(res.status).toBe(400)
      const error = await errorOf(res)
      expect(error.message).toBe(`The JSON body is nested too deeply: ${levels + 4} levels of objects and arrays, more than the 64 this API accepts.`)
      expect(error).toMatchObject({ type: 'invalid_request_error', code: 'json_too_deep' })
      expect(error.message).not.toMatch(/malformed|could not parse/i)
    }
    // Within the limit it is an ordinary request.
    const ok = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`
    const res = await fetch(`${server.baseURL}/assistants`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: `{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":${ok}}}]}`,
    })
    expect(res.status).toBe(200)
    expect((await client.beta.assistants.list({ limit: 100 })).data).toHaveLength(before + 1)
  })
})
