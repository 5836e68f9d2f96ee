import { ApiError } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import type { DrainQueues } from '@threadwork/queue'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type App, type AppDeps, createApp } from '../app.js'
import { createModelGate } from '../model-gate.js'
import type { RunService } from '../runs/run-service.js'
import { createTurnService } from '../turns/turn-service.js'

let fx: RedisFixture
let app: App
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
  const turns = createTurnService({
    stores,
    queues: { enqueueDrain: async () => {} } as unknown as DrainQueues,
    runs: {} as RunService,
    modelGate: createModelGate(() => 'ok'),
  })
  // Only turn routes are called here, so the services other routes need are left out.
  const deps: Pick<AppDeps, 'redis' | 'stores' | 'apiKeys' | 'models' | 'log' | 'turns'> = {
    redis: fx.redis,
    stores,
    turns,
    apiKeys: new Map([['sk-a', 'alpha']]),
    models: { list: async () => [], retrieve: async (id) => Promise.reject(ApiError.notFound('model', id)) },
    log: createLogger({ service: 'test', level: 'silent' }),
  }
  app = createApp(deps as AppDeps)
})
afterEach(() => fx.cleanup())

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await app.request(path, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-a', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, json: (await res.json()) as { id?: string; error?: unknown } }
}

describe('turn routes: Idempotency-Key', () => {
  it('refuses an empty key before the body is looked at, on both POSTs', async () => {
    for (const path of ['/v1/threads/thread_abc/turns', '/v1/turns']) {
      const res = await post(path, { content: 42 }, { 'idempotency-key': '' })
      expect(res.status).toBe(400)
      expect(res.json).toEqual({
        error: {
          message: "Invalid 'idempotency-key': string too short. Expected a string with minimum length 1, but got a string with length 0 instead.",
          type: 'invalid_request_error',
          param: 'idempotency-key',
          code: 'string_below_min_length',
        },
      })
    }
  })

  it('answers a retry with the same key with the same turn', async () => {
    const assistant = await stores.assistants.create('alpha', { model: 'm' })
    const { thread } = await stores.threads.create('alpha', {})
    const body = { assistant_id: assistant.id, content: 'hi' }
    const first = await post(`/v1/threads/${thread.id}/turns`, body, { 'idempotency-key': 'k1' })
    const again = await post(`/v1/threads/${thread.id}/turns`, body, { 'idempotency-key': 'k1' })
    expect(first.status).toBe(202)
    expect(again).toEqual(first)
    const other = await post(`/v1/threads/${thread.id}/turns`, body)
    expect(other.status).toBe(202)
    expect(other.json.id).not.toBe(first.json.id)
  })

  it('a key whose request died before storing its turn is 409 while that could be a live request, then taken over by a retry', async () => {
    // Found with pnpm start: the API SIGKILLed mid-burst left a key claimed with no turn, and every
    // retry answered 409 "still being processed. Retry shortly." for the key's 24 h.
    const assistant = await stores.assistants.create('alpha', { model: 'm' })
    const { thread } = await stores.threads.create('alpha', {})
    const body = { assistant_id: assistant.id, content: 'hi' }
    const path = `/v1/threads/${thread.id}/turns`
    expect((await post(path, body, { 'idempotency-key': 'k-dead' })).status).toBe(202)
    // The claim as a request killed between claiming the key and storing its turn leaves it: the
    // record a claim writes, naming a turn that was never stored.
    const key = stores.keys.idempotency('alpha', 'k-dead')
    const claimed = JSON.parse((await fx.redis.get(key))!)
    const dead = { ...claimed, turnId: 'turn_neverStored000000000000' }
    await fx.redis.set(key, JSON.stringify({ ...dead, claimedAt: Date.now() }), 'EX', 3600)
    const young = await post(path, body, { 'idempotency-key': 'k-dead' })
    expect(young.status).toBe(409)
    expect(young.json.error).toMatchObject({ code: 'idempotency_key_in_use' })

    await fx.redis.set(key, JSON.stringify({ ...dead, claimedAt: Date.now() - 120_000 }), 'EX', 3600)
    const [a, b] = await Promise.all([post(path, body, { 'idempotency-key': 'k-dead' }), post(path, body, { 'idempotency-key': 'k-dead' })])
    // Of two retries at once, one takes the key over and stores the turn; the other answers it or, still waiting, 409.
    const taken = [a, b].filter((r) => r.status === 202)
    expect(taken.length).toBeGreaterThanOrEqual(1)
    expect(new Set(taken.map((r) => r.json.id)).size).toBe(1)
    expect([a, b].every((r) => r.status === 202 || r.status === 409)).toBe(true)
    const again = await post(path, body, { 'idempotency-key': 'k-dead' })
    expect(again).toEqual(taken[0])
    expect((await stores.turns.list('alpha', thread.id, { limit: 20, order: 'asc' })).data).toHaveLength(2)
  }, 20_000)
})

describe('turn routes: callback_url shape', () => {
  it('names the parameter and the fault, as a webhook endpoint url does, on both POSTs', async () => {
    const cases: [string, string][] = [
      ['ftp://example.com/hook', "Invalid 'callback_url': must use the https or http scheme."],
      ['https://user:pw@example.com/hook', "Invalid 'callback_url': must not contain credentials."],
      ['not a url', "Invalid 'callback_url': must be an absolute http(s) URL."],
      [`https://example.com/${'a'.repeat(2048)}`, "Invalid 'callback_url': must be at most 2048 characters."],
    ]
    for (const path of ['/v1/threads/thread_abc/turns', '/v1/turns']) {
      for (const [url, message] of cases) {
        const res = await post(path, { assistant_id: 'asst_x', content: 'hi', callback_url: url })
        expect(res.status, url).toBe(400)
        expect(res.json, url).toEqual({ error: { message, type: 'invalid_request_error', param: 'callback_url', code: 'invalid_url' } })
      }
    }
  })
})
