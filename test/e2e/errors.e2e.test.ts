/**
 * Bad requests answered as OpenAI answers them: the HTTP status that picks the SDK's error class,
 * then `error.type`, `error.param`, `error.code` and the message (research/assistants-v2-surface.md
 * §7–8), and an `x-request-id` on every response, which the SDK exposes as `err.requestID`.
 */
import type { ApiServer } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, sdk, startStack } from './support.js'

let server: ApiServer
let client: OpenAI
let threadId: string
let messageId: string
let assistantId: string

beforeAll(async () => {
  ;({ server, client } = await startStack())
  assistantId = (await client.beta.assistants.create({ model: 'gpt-4o' })).id
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
  threadId = thread.id
  messageId = (await client.beta.threads.messages.list(threadId)).data[0]!.id
})
afterAll(() => server?.close())

const REQUEST_ID = /^req_[0-9a-f]{32}$/
const ERROR_CLASS = {
  400: OpenAI.BadRequestError,
  401: OpenAI.AuthenticationError,
  404: OpenAI.NotFoundError,
} as const

interface Expected {
  status: keyof typeof ERROR_CLASS
  param: string | null
  code: string | null
  message: string | RegExp
  type?: string
}

// `as never` below: the typed SDK would not let a test send the invalid bodies it has to send.

const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))
const longKey = 'k'.repeat(65)

const bad400 = (param: string | null, code: string | null, message: string | RegExp): Expected => ({ status: 400, param, code, message })

/** [case, the SDK call, what it must answer]. */
const cases: [string, (c: OpenAI) => Promise<unknown>, Expected][] = [
  // metadata limits, on every resource that takes metadata
  [
    'metadata with 17 pairs',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', metadata: seventeen }),
    bad400('metadata', 'object_above_max_properties', "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with 17 properties instead."),
  ],
  [
    'thread metadata with 17 pairs',
    (c) => c.beta.threads.create({ metadata: seventeen }),
    bad400('metadata', 'object_above_max_properties', "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with 17 properties instead."),
  ],
  [
    'metadata key of 65 characters',
    (c) => c.beta.threads.update(threadId, { metadata: { [longKey]: 'v' } }),
    bad400(
      `metadata.${longKey}`,
      'property_name_above_max_length',
      `Invalid property name in 'metadata': '${longKey}' is too long. Expected a string with maximum length 64, but got a string with length 65 instead.`,
    ),
  ],
  [
    'metadata value of 513 characters',
    (c) => c.beta.threads.messages.create(threadId, { role: 'user', content: 'x', metadata: { k: 'v'.repeat(513) } }),
    bad400('metadata.k', 'string_above_max_length', "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but got a string with length 513 instead."),
  ],
  [
    'metadata value that is not a string',
    (c) => c.beta.threads.messages.update(messageId, { thread_id: threadId, metadata: { k: 1 } as never }),
    bad400('metadata.k', 'invalid_type', "Invalid type for 'metadata.k': expected a string, but got an integer instead."),
  ],
  [
    'metadata that is not an object',
    (c) => c.beta.assistants.update(assistantId, { metadata: 'tags' as never }),
    bad400('metadata', 'invalid_type', "Invalid type for 'metadata': expected an object, but got a string instead."),
  ],
  // assistant string limits
  [
    'name of 257 characters',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', name: 'n'.repeat(257) }),
    bad400('name', 'string_above_max_length', "Invalid 'name': string too long. Expected a string with maximum length 256, but got a string with length 257 instead."),
  ],
  [
    'description of 513 characters',
    (c) => c.beta.assistants.update(assistantId, { description: 'd'.repeat(513) }),
    bad400('description', 'string_above_max_length', "Invalid 'description': string too long. Expected a string with maximum length 512, but got a string with length 513 instead."),
  ],
  [
    'instructions of 256,001 characters',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', instructions: 'i'.repeat(256_001) }),
    bad400('instructions', 'string_above_max_length', "Invalid 'instructions': string too long. Expected a string with maximum length 256000, but got a string with length 256001 instead."),
  ],
  // shape
  ['unknown parameter', (c) => c.beta.assistants.create({ model: 'gpt-4o', bogus: 1 } as never), bad400('bogus', 'unknown_parameter', "Unknown parameter: 'bogus'.")],
  ['unknown parameter on a thread', (c) => c.beta.threads.create({ title: 'x' } as never), bad400('title', 'unknown_parameter', "Unknown parameter: 'title'.")],
  ['missing model', (c) => c.beta.assistants.create({ name: 'no model' } as never), bad400('model', 'missing_required_parameter', "Missing required parameter: 'model'.")],
  ['missing role', (c) => c.beta.threads.messages.create(threadId, { content: 'x' } as never), bad400('role', 'missing_required_parameter', "Missing required parameter: 'role'.")],
  // content is a union (string or parts): left out, it is missing like any field, not "got undefined".
  ['missing content', (c) => c.beta.threads.messages.create(threadId, { role: 'user' } as never), bad400('content', 'missing_required_parameter', "Missing required parameter: 'content'.")],
  [
    'missing content in a new thread',
    (c) => c.beta.threads.create({ messages: [{ role: 'user' } as never] }),
    bad400('messages[0].content', 'missing_required_parameter', "Missing required parameter: 'messages[0].content'."),
  ],
  // A union's branch whose fault is inside the value names that field, not another branch's type.
  [
    'json_schema response_format without a name',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', response_format: { type: 'json_schema', json_schema: {} as never } }),
    bad400('response_format.json_schema.name', 'missing_required_parameter', "Missing required parameter: 'response_format.json_schema.name'."),
  ],
  [
    'json_schema response_format without json_schema',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', response_format: { type: 'json_schema' } as never }),
    bad400('response_format.json_schema', 'missing_required_parameter', "Missing required parameter: 'response_format.json_schema'."),
  ],
  [
    'response_format of an unknown type',
    (c) => c.beta.threads.runs.create(threadId, { assistant_id: assistantId, response_format: { type: 'xml' } as never }),
    bad400('response_format.type', 'invalid_value', "Invalid value: 'xml' for 'response_format.type'."),
  ],
  // OpenAI creates a thread with at most 32 messages (its 400 `array too long`; SDK users split longer histories).
  [
    'a new thread with 33 messages',
    (c) => c.beta.threads.create({ messages: Array.from({ length: 33 }, () => ({ role: 'user' as const, content: 'x' })) }),
    bad400('messages', 'array_above_max_length', "Invalid 'messages': array too long. Expected an array with maximum length 32, but got an array with length 33 instead."),
  ],
  [
    'createAndRun with a thread of 33 messages',
    (c) => c.beta.threads.createAndRun({ assistant_id: assistantId, thread: { messages: Array.from({ length: 33 }, () => ({ role: 'user' as const, content: 'x' })) } }),
    bad400('thread.messages', 'array_above_max_length', "Invalid 'thread.messages': array too long. Expected an array with maximum length 32, but got an array with length 33 instead."),
  ],
  [
    'name of the wrong type',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', name: 42 as never }),
    bad400('name', 'invalid_type', "Invalid type for 'name': expected a string, but got an integer instead."),
  ],
  [
    'model of the wrong type',
    (c) => c.beta.assistants.create({ model: ['gpt-4o'] as never }),
    bad400('model', 'invalid_type', "Invalid type for 'model': expected a string, but got an array instead."),
  ],
  [
    'tools of the wrong type',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', tools: { type: 'code_interpreter' } as never }),
    bad400('tools', 'invalid_type', "Invalid type for 'tools': expected an array, but got an object instead."),
  ],
  [
    'temperature of the wrong type',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', temperature: 'hot' as never }),
    bad400('temperature', 'invalid_type', "Invalid type for 'temperature': expected a decimal, but got a string instead."),
  ],
  [
    'temperature above 2',
    (c) => c.beta.assistants.create({ model: 'gpt-4o', temperature: 2.5 }),
    bad400('temperature', 'decimal_above_max_value', "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."),
  ],
  // list queries
  ['limit 0', (c) => c.beta.threads.messages.list(threadId, { limit: 0 }), bad400('limit', 'integer_below_min_value', "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 instead.")],
  ['limit 101', (c) => c.beta.assistants.list({ limit: 101 }), bad400('limit', 'integer_above_max_value', "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got 101 instead.")],
  ['limit not a number', (c) => c.beta.assistants.list({ limit: 'ten' as never }), bad400('limit', 'invalid_type', "Invalid type for 'limit': expected an integer, but got a string instead.")],
  // `?limit=` reads as 0 once coerced; it is no number at all, as 'ten' is not.
  ['limit empty', (c) => c.beta.assistants.list({ limit: '' as never }), bad400('limit', 'invalid_type', "Invalid type for 'limit': expected an integer, but got a string instead.")],
  ['files limit empty', (c) => c.files.list({ limit: '' as never }), bad400('limit', 'invalid_type', "Invalid type for 'limit': expected an integer, but got a string instead.")],
  [
    'order bogus',
    (c) => c.beta.threads.messages.list(threadId, { order: 'bogus' as never }),
    bad400('order', 'invalid_value', "Invalid value: 'bogus'. Supported values are: 'asc' and 'desc'."),
  ],
  [
    'unknown after cursor',
    (c) => c.beta.threads.messages.list(threadId, { after: 'msg_unknown' }),
    bad400('after', 'invalid_value', "Invalid 'after': no object with id 'msg_unknown' in this list."),
  ],
  ['unknown before cursor', (c) => c.beta.assistants.list({ before: 'asst_unknown' }), bad400('before', 'invalid_value', "Invalid 'before': no object with id 'asst_unknown' in this list.")],
  // messages
  [
    'message with an empty content array',
    (c) => c.beta.threads.messages.create(threadId, { role: 'user', content: [] }),
    bad400('content', 'empty_array', "Invalid 'content': empty array. Expected an array with minimum length 1, but got an empty array instead."),
  ],
  [
    'message with a bad role',
    (c) => c.beta.threads.messages.create(threadId, { role: 'system' as never, content: 'x' }),
    bad400('role', 'invalid_value', "Invalid value: 'system'. Supported values are: 'user' and 'assistant'."),
  ],
  [
    'thread message with a bad role',
    (c) => c.beta.threads.create({ messages: [{ role: 'tool' as never, content: 'x' }] }),
    bad400('messages[0].role', 'invalid_value', "Invalid value: 'tool'. Supported values are: 'user' and 'assistant'."),
  ],
  [
    'content part of an unknown type',
    (c) => c.beta.threads.messages.create(threadId, { role: 'user', content: [{ type: 'audio', audio: {} } as never] }),
    bad400('content[0].type', 'invalid_value', "Invalid value: 'audio' for 'content[0].type'."),
  ],
  [
    'content part without a type',
    (c) => c.beta.threads.messages.create(threadId, { role: 'user', content: [{ text: 'x' } as never] }),
    bad400('content[0].type', 'missing_required_parameter', "Missing required parameter: 'content[0].type'."),
  ],
  // unknown ids
  ...(
    [
      ['assistants.retrieve', (c) => c.beta.assistants.retrieve('asst_x'), 'assistant', 'asst_x'],
      ['assistants.update', (c) => c.beta.assistants.update('asst_x', { name: 'n' }), 'assistant', 'asst_x'],
      ['assistants.delete', (c) => c.beta.assistants.delete('asst_x'), 'assistant', 'asst_x'],
      ['threads.retrieve', (c) => c.beta.threads.retrieve('thread_x'), 'thread', 'thread_x'],
      ['threads.update', (c) => c.beta.threads.update('thread_x', { metadata: {} }), 'thread', 'thread_x'],
      ['threads.delete', (c) => c.beta.threads.delete('thread_x'), 'thread', 'thread_x'],
      ['messages.create on an unknown thread', (c) => c.beta.threads.messages.create('thread_x', { role: 'user', content: 'x' }), 'thread', 'thread_x'],
      ['messages.list on an unknown thread', (c) => c.beta.threads.messages.list('thread_x'), 'thread', 'thread_x'],
      ['messages.retrieve', (c) => c.beta.threads.messages.retrieve('msg_x', { thread_id: threadId }), 'message', 'msg_x'],
      ['messages.update', (c) => c.beta.threads.messages.update('msg_x', { thread_id: threadId, metadata: {} }), 'message', 'msg_x'],
      ['messages.delete', (c) => c.beta.threads.messages.delete('msg_x', { thread_id: threadId }), 'message', 'msg_x'],
    ] as [string, (c: OpenAI) => Promise<unknown>, string, string][]
  ).map(([name, call, kind, id]): [string, (c: OpenAI) => Promise<unknown>, Expected] => [
    `${name} with an unknown id`,
    call,
    { status: 404, param: null, code: null, message: `No ${kind} found with id '${id}'.` },
  ]),
  // authentication
  [
    'no API key',
    (c) => c.beta.assistants.list({}, { headers: { authorization: null } }),
    {
      status: 401,
      param: null,
      code: null,
      message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    },
  ],
  [
    'an unknown API key',
    (c) => c.beta.threads.create({}, { headers: { authorization: 'Bearer sk-not-a-real-key-1234' } }),
    { status: 401, param: null, code: 'invalid_api_key', message: 'Incorrect API key provided: sk-***1234.' },
  ],
]

describe('SDK errors', () => {
  it.each(cases)('%s', async (_name, call, expected) => {
    const err = await apiError(() => call(client))
    expect(err).toBeInstanceOf(ERROR_CLASS[expected.status])
    expect(err.status).toBe(expected.status)
    expect(err.error).toEqual({
      message: typeof expected.message === 'string' ? expected.message : expect.stringMatching(expected.message),
      type: expected.type ?? 'invalid_request_error',
      param: expected.param,
      code: expected.code,
    })
    expect(err.type).toBe(expected.type ?? 'invalid_request_error')
    expect(err.param).toBe(expected.param)
    expect(err.code).toBe(expected.code)
    expect(err.requestID).toMatch(REQUEST_ID)
    expect(err.headers?.get('content-type')).toMatch(/^application\/json/)
  })

  it('sets x-request-id on successful responses too, unique per request', async () => {
    const a = await client.beta.assistants.list().withResponse()
    const b = await client.beta.threads.retrieve(threadId).withResponse()
    expect(a.request_id).toMatch(REQUEST_ID)
    expect(b.request_id).toMatch(REQUEST_ID)
    expect(a.request_id).not.toBe(b.request_id)
  })

  it('rejects an unknown key on every resource, before looking anything up', async () => {
    const stranger = sdk(server, 'sk-stranger-0000')
    for (const call of [
      () => stranger.beta.assistants.retrieve(assistantId),
      () => stranger.beta.threads.retrieve(threadId),
      () => stranger.beta.threads.messages.list(threadId),
      () => stranger.beta.threads.messages.retrieve(messageId, { thread_id: threadId }),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    }
  })
})

describe('raw HTTP errors', () => {
  const auth = () => ({ authorization: `Bearer ${server.apiKey}` })

  /** Checks the OpenAI error body and the request id, and returns the error object. */
  async function expectError(res: Response, status: number) {
    expect(res.status).toBe(status)
    expect(res.headers.get('x-request-id')).toMatch(REQUEST_ID)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await res.json()) as { error: { message: string; type: string; param: null; code: string | null } }
    expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code: expect.toSatisfy((v) => v === null || typeof v === 'string') } })
    return body.error
  }

  it('404 for an unknown route', async () => {
    const error = await expectError(await fetch(`${server.baseURL}/nothing-here`, { headers: auth() }), 404)
    expect(error).toMatchObject({ message: 'Invalid URL (GET /v1/nothing-here)', type: 'invalid_request_error' })
    await expectError(await fetch(`${server.url}/v2/assistants`, { headers: auth() }), 404)
    // An unknown route under /v1 still asks for a key first, as OpenAI does.
    await expectError(await fetch(`${server.baseURL}/nothing-here`), 401)
  })

  it('405 with Allow for a known route and the wrong method', async () => {
    const cases: [string, string, string[]][] = [
      ['PUT', '/assistants', ['GET', 'POST']],
      ['DELETE', '/assistants', ['GET', 'POST']],
      ['PATCH', `/threads/${threadId}`, ['DELETE', 'GET', 'POST']],
      ['PUT', `/threads/${threadId}/messages/${messageId}`, ['DELETE', 'GET', 'POST']],
      ['DELETE', `/threads/${threadId}/messages`, ['GET', 'POST']],
    ]
    for (const [method, path, allowed] of cases) {
      const res = await fetch(`${server.baseURL}${path}`, { method, headers: auth() })
      const error = await expectError(res, 405)
      expect(error.message).toContain(`Method ${method} not allowed`)
      expect(error.type).toBe('invalid_request_error')
      expect(res.headers.get('allow')?.split(/,\s*/).sort()).toEqual(allowed)
    }
  })

  it('413 for an oversized body, declared or streamed', async () => {
    const small = await startStack({ maxBodyBytes: 1024 })
    try {
      const big = JSON.stringify({ model: 'gpt-4o', instructions: 'x'.repeat(4096) })
      const declared = await fetch(`${small.server.baseURL}/assistants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${small.server.apiKey}`, 'content-type': 'application/json' },
        body: big,
      })
      expect((await expectError(declared, 413)).type).toBe('invalid_request_error')
      // Chunked: no content-length, so the limit is enforced while reading.
      const bytes = new TextEncoder().encode(big)
      const streamed = await fetch(`${small.server.baseURL}/assistants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${small.server.apiKey}`, 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 512) controller.enqueue(bytes.slice(i, i + 512))
            controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
      await expectError(streamed, 413)
      // The SDK maps it to its generic APIError (413 has no dedicated class).
      const err = await apiError(() => small.client.beta.assistants.create({ model: 'gpt-4o', instructions: 'x'.repeat(4096) }))
      expect(err.status).toBe(413)
      expect(err.requestID).toMatch(REQUEST_ID)
    } finally {
      await small.server.close()
    }
  })

  it('415 for a body that is not JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${server.baseURL}/assistants`, { method: 'POST', headers: { ...auth(), 'content-type': type }, body: 'model=gpt-4o' })
      expect((await expectError(res, 415)).type).toBe('invalid_request_error')
    }
  })

  it('400 for malformed JSON and for JSON that is not an object', async () => {
    const malformed = await fetch(`${server.baseURL}/assistants`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"model":' })
    const error = await expectError(malformed, 400)
    expect(error).toEqual({ message: expect.stringContaining('We could not parse the JSON body of your request.'), type: 'invalid_request_error', param: null, code: null })
    for (const body of ['[]', '"gpt-4o"', '42']) {
      const res = await fetch(`${server.baseURL}/threads`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body })
      expect((await expectError(res, 400)).type).toBe('invalid_request_error')
    }
  })

  it('puts x-request-id on successes, health checks and the OpenAPI document too', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('x-request-id'), path).toMatch(REQUEST_ID)
    }
    const ok = await fetch(`${server.baseURL}/assistants`, { headers: auth() })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-request-id')).toMatch(REQUEST_ID)
  })
})
