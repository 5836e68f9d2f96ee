import { ApiError } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { createDrainQueues } from '@threadwork/queue'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type App, createApp } from './app.js'
import { createServices } from './services.js'

let fx: RedisFixture
let app: App
beforeEach(async () => {
  fx = await createRedisFixture()
  const stores = createStores(fx.redis, fx.prefix)
  const queues = createDrainQueues(fx.redis, stores.keys)
  app = createApp({
    redis: fx.redis,
    stores,
    ...createServices({ stores, queues, modelStatus: () => 'ok', runExpiresAfterSeconds: 600, publishCancel: async () => {} }),
    apiKeys: new Map([['sk-a', 'alpha']]),
    models: { list: async () => [], retrieve: async (id) => Promise.reject(ApiError.notFound('model', id)) },
    log: createLogger({ service: 'test', level: 'silent' }),
    maxBodyBytes: 1024,
  })
})
afterEach(() => fx.cleanup())

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below
type Json = any

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method,
    headers: { authorization: 'Bearer sk-a', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

describe('api app', () => {
  it('creates and reads an assistant with OpenAI defaults', async () => {
    const res = await call('POST', '/v1/assistants', { model: 'gpt-4o' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toMatch(/^req_/)
    const a = (await res.json()) as Json
    expect(a).toMatchObject({ object: 'assistant', model: 'gpt-4o', name: null, tools: [], metadata: {}, temperature: 1, top_p: 1, response_format: 'auto' })
    expect((await call('GET', `/v1/assistants/${a.id}`)).status).toBe(200)
  })

  it('renders validation errors as OpenAI does', async () => {
    const cases: [unknown, string, string][] = [
      [{}, 'model', 'missing_required_parameter'],
      [{ model: 'm', bogus: 1 }, 'bogus', 'unknown_parameter'],
      [{ model: 'm', name: 'x'.repeat(257) }, 'name', 'string_above_max_length'],
      [{ model: 'm', temperature: 2.5 }, 'temperature', 'decimal_above_max_value'],
      [{ model: 'm', metadata: { k: 1 } }, 'metadata.k', 'invalid_type'],
      [{ model: 'm', tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools[0].function.name', 'invalid_value'],
      [{ model: 'm', tools: [{ type: 'nope' }] }, 'tools[0].type', 'invalid_value'],
    ]
    for (const [body, param, code] of cases) {
      const res = await call('POST', '/v1/assistants', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      const { error } = (await res.json()) as Json
      expect(error, JSON.stringify(body)).toMatchObject({ type: 'invalid_request_error', param, code })
      expect(typeof error.message).toBe('string')
    }
  })

  it('says what a bad name must be, once, for functions and JSON schemas', async () => {
    const rule = 'must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes.'
    const cases: [unknown, string][] = [
      [{ model: 'm', tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
      [{ model: 'm', response_format: { type: 'json_schema', json_schema: { name: 'x y' } } }, 'response_format.json_schema.name'],
    ]
    for (const [body, param] of cases) {
      const res = await call('POST', '/v1/assistants', body)
      expect(res.status).toBe(400)
      expect(((await res.json()) as Json).error).toMatchObject({ message: `Invalid '${param}': ${rule}`, param, code: 'invalid_value' })
    }
  })

  it('answers 401, 404, 405, 413, 415 and malformed JSON with the error body', async () => {
    expect((await call('GET', '/v1/assistants', undefined, { authorization: 'Bearer nope' })).status).toBe(401)
    expect((await app.request('/v1/assistants')).status).toBe(401)
    const missing = await call('GET', '/v1/assistants/asst_missing')
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as Json).error.message).toBe("No assistant found with id 'asst_missing'.")
    expect((await call('GET', '/v1/nothing-here')).status).toBe(404)
    expect((await call('PUT', '/v1/assistants')).status).toBe(405)
    expect((await call('POST', '/v1/assistants', { model: 'x'.repeat(2000) })).status).toBe(413)
    expect((await call('POST', '/v1/assistants', 'model=x', { 'content-type': 'text/plain' })).status).toBe(415)
    const bad = await call('POST', '/v1/assistants', '{"model":')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as Json).error.type).toBe('invalid_request_error')
  })

  it('creates a thread with no body and with initial messages', async () => {
    const empty = await app.request('/v1/threads', { method: 'POST', headers: { authorization: 'Bearer sk-a' } })
    expect(empty.status).toBe(200)
    const res = await call('POST', '/v1/threads', { messages: [{ role: 'user', content: 'hi' }], metadata: { a: 'b' } })
    const thread = (await res.json()) as Json
    const list = (await (await call('GET', `/v1/threads/${thread.id}/messages`)).json()) as Json
    expect(list).toMatchObject({ object: 'list', has_more: false, data: [{ role: 'user', content: [{ type: 'text', text: { value: 'hi' } }] }] })
    const badLimit = await call('GET', `/v1/threads/${thread.id}/messages?limit=0`)
    expect(badLimit.status).toBe(400)
    expect(((await badLimit.json()) as Json).error).toMatchObject({ param: 'limit', code: 'integer_below_min_value' })
    const badOrder = await call('GET', `/v1/threads/${thread.id}/messages?order=up`)
    expect(((await badOrder.json()) as Json).error).toMatchObject({ param: 'order', code: 'invalid_value' })
  })
})
