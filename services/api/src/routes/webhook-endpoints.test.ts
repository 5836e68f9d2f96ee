import { ApiError } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type App, type AppDeps, createApp } from '../app.js'

let fx: RedisFixture
let app: App
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
  // Only webhook routes are called here, so the services other routes need are left out.
  const deps: Pick<AppDeps, 'redis' | 'stores' | 'apiKeys' | 'models' | 'log'> = {
    redis: fx.redis,
    stores,
    apiKeys: new Map([
      ['sk-a', 'alpha'],
      ['sk-b', 'beta'],
    ]),
    models: { list: async () => [], retrieve: async (id) => Promise.reject(ApiError.notFound('model', id)) },
    log: createLogger({ service: 'test', level: 'silent' }),
  }
  app = createApp(deps as AppDeps)
})
afterEach(() => fx.cleanup())

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below
type Json = any

const call = async (method: string, path: string, body?: unknown, key = 'sk-a'): Promise<{ status: number; json: Json }> => {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, json: await res.json() }
}

const create = (overrides: Record<string, unknown> = {}, key = 'sk-a') =>
  call('POST', '/v1/webhook_endpoints', { url: 'https://example.com/hook', name: 'main', event_types: ['thread.run.completed'], ...overrides }, key)

describe('webhook endpoint routes', () => {
  it('creates an endpoint and shows its secret only on create and rotate', async () => {
    const created = await create()
    expect(created.status).toBe(200)
    const e = created.json
    expect(e).toMatchObject({
      object: 'webhook_endpoint',
      url: 'https://example.com/hook',
      name: 'main',
      event_types: ['thread.run.completed'],
      status: 'enabled',
      disabled_reason: null,
    })
    expect(e.id).toMatch(/^whe_/)
    expect(e.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(e.signing_secret_hint).toBe(`whsec_${e.signing_secret.slice(6, 9)}…${e.signing_secret.slice(-4, -1)}`)
    expect(e.updated_at).toBe(e.created_at)

    const got = await call('GET', `/v1/webhook_endpoints/${e.id}`)
    expect(got.status).toBe(200)
    expect(got.json).not.toHaveProperty('signing_secret')
    expect(got.json.signing_secret_hint).toBe(e.signing_secret_hint)
    expect(JSON.stringify(got.json)).not.toContain(e.signing_secret.slice(6, 20))

    const rotated = await call('POST', `/v1/webhook_endpoints/${e.id}/rotate_secret`)
    expect(rotated.status).toBe(200)
    expect(rotated.json.signing_secret).toMatch(/^whsec_/)
    expect(rotated.json.signing_secret).not.toBe(e.signing_secret)
    expect(rotated.json.signing_secret_hint).not.toBe(e.signing_secret_hint)

    const list = await call('GET', '/v1/webhook_endpoints')
    expect(list.json.data[0]).not.toHaveProperty('signing_secret')
  })

  it('rotation keeps the old secret signing for 24 h only when asked', async () => {
    const { json: e } = await create()
    const first = e.signing_secret
    const now = await call('POST', `/v1/webhook_endpoints/${e.id}/rotate_secret`, {})
    expect((await stores.webhookEndpoints.target('alpha', e.id))?.secrets).toEqual([now.json.signing_secret])

    const kept = await call('POST', `/v1/webhook_endpoints/${e.id}/rotate_secret`, { keep_old_secret_active_for_24_hours: true })
    expect((await stores.webhookEndpoints.target('alpha', e.id))?.secrets).toEqual([kept.json.signing_secret, now.json.signing_secret])
    expect([kept.json.signing_secret, now.json.signing_secret]).not.toContain(first)

    const bad = await call('POST', `/v1/webhook_endpoints/${e.id}/rotate_secret`, { keep_old_secret_active_for_24_hours: 'yes' })
    expect(bad.status).toBe(400)
  })

  it('updates, and only a real change advances updated_at', async () => {
    const { json: e } = await create()
    const same = await call('POST', `/v1/webhook_endpoints/${e.id}`, { name: 'main' })
    expect(same.json.updated_at).toBe(e.updated_at)
    const changed = await call('POST', `/v1/webhook_endpoints/${e.id}`, {
      name: 'renamed',
      url: 'https://example.org/x',
      event_types: ['thread.run.failed', 'thread.turn.completed', 'thread.run.failed'],
    })
    expect(changed.status).toBe(200)
    expect(changed.json).toMatchObject({ name: 'renamed', url: 'https://example.org/x', event_types: ['thread.run.failed', 'thread.turn.completed'] })

    const disabled = await call('POST', `/v1/webhook_endpoints/${e.id}`, { status: 'disabled' })
    expect(disabled.json).toMatchObject({ status: 'disabled', disabled_reason: 'Disabled by request.' })
    expect(disabled.json.disabled_at).toEqual(expect.any(Number))
    const enabled = await call('POST', `/v1/webhook_endpoints/${e.id}`, { status: 'enabled' })
    expect(enabled.json).toMatchObject({ status: 'enabled', disabled_reason: null, disabled_at: null })
  })

  it('lists newest first with pages', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await create({ name: `e${i}` })).json.id)
    const page1 = await call('GET', '/v1/webhook_endpoints?limit=2')
    expect(page1.json).toMatchObject({ object: 'list', has_more: true, first_id: ids[4], last_id: ids[3] })
    const page2 = await call('GET', `/v1/webhook_endpoints?limit=2&after=${page1.json.last_id}`)
    expect(page2.json.data.map((e: Json) => e.id)).toEqual([ids[2], ids[1]])
    const page3 = await call('GET', `/v1/webhook_endpoints?limit=2&after=${page2.json.last_id}`)
    expect(page3.json).toMatchObject({ has_more: false, data: [{ id: ids[0] }] })
    const asc = await call('GET', '/v1/webhook_endpoints?order=asc&limit=100')
    expect(asc.json.data.map((e: Json) => e.id)).toEqual(ids)
  })

  it('deletes; another project sees 404 for the id', async () => {
    const { json: e } = await create()
    for (const [method, path, body] of [
      ['GET', `/v1/webhook_endpoints/${e.id}`],
      ['POST', `/v1/webhook_endpoints/${e.id}`, { name: 'x' }],
      ['POST', `/v1/webhook_endpoints/${e.id}/rotate_secret`],
      ['GET', `/v1/webhook_endpoints/${e.id}/deliveries`],
      ['DELETE', `/v1/webhook_endpoints/${e.id}`],
    ] as const) {
      const res = await call(method, path, body, 'sk-b')
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.json.error.message).toBe(`No webhook endpoint found with id '${e.id}'.`)
    }
    expect((await call('GET', '/v1/webhook_endpoints', undefined, 'sk-b')).json.data).toEqual([])

    const deleted = await call('DELETE', `/v1/webhook_endpoints/${e.id}`)
    expect(deleted.json).toEqual({ id: e.id, object: 'webhook_endpoint.deleted', deleted: true })
    expect((await call('GET', `/v1/webhook_endpoints/${e.id}`)).status).toBe(404)
    expect((await call('DELETE', `/v1/webhook_endpoints/${e.id}`)).status).toBe(404)
  })

  it('validates the URL, the name and the event types', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ url: 'ftp://example.com/x' }, 'url', 'invalid_url'],
      [{ url: 'not a url' }, 'url', 'invalid_url'],
      [{ url: 'https://user:pass@example.com/x' }, 'url', 'invalid_url'],
      [{ url: `https://example.com/${'x'.repeat(2100)}` }, 'url', 'invalid_url'],
      [{ event_types: [] }, 'event_types', 'empty_array'],
      [{ event_types: ['response.completed'] }, 'event_types[0]', 'invalid_value'],
      [{ event_types: 'thread.run.completed' }, 'event_types', 'invalid_type'],
      [{ name: undefined }, 'name', 'missing_required_parameter'],
      [{ bogus: 1 }, 'bogus', 'unknown_parameter'],
    ]
    for (const [overrides, param, code] of cases) {
      const res = await create(overrides)
      expect(res.status, JSON.stringify(overrides)).toBe(400)
      expect(res.json.error, JSON.stringify(overrides)).toMatchObject({ type: 'invalid_request_error', param, code })
    }
    // Private and metadata targets are refused at registration, naming why and the setting.
    const loopback = await create({ url: 'http://127.0.0.1:9/hook' })
    expect(loopback.status).toBe(400)
    expect(loopback.json.error).toMatchObject({ type: 'invalid_request_error', param: 'url', code: 'webhook_url_forbidden' })
    expect(loopback.json.error.message).toMatch(/127\.0\.0\.1, a loopback address.*WEBHOOK_ALLOW_PRIVATE \(e\.g\. 127\.0\.0\.1:9\)/)
    const metadata = await create({ url: 'http://169.254.169.254/latest/meta-data/' })
    expect(metadata.status).toBe(400)
    expect(metadata.json.error.message).toMatch(/cloud metadata address: webhooks may never target it/)
    expect((await create({ url: 'http://[::1]:8080/x' })).json.error).toMatchObject({ param: 'url', code: 'webhook_url_forbidden' })
    const { json: e } = await create()
    expect((await call('POST', `/v1/webhook_endpoints/${e.id}`, { url: 'javascript:alert(1)' })).status).toBe(400)
    // An update to a private URL is refused the same way, and changes nothing.
    expect((await call('POST', `/v1/webhook_endpoints/${e.id}`, { url: 'http://10.0.0.7/hook' })).json.error).toMatchObject({ param: 'url', code: 'webhook_url_forbidden' })
    expect((await call('GET', `/v1/webhook_endpoints/${e.id}`)).json.url).toBe(e.url)
    // So is a turn's callback_url, before anything is stored.
    const turn = await call('POST', '/v1/turns', { assistant_id: 'asst_x', content: 'hi', callback_url: 'http://192.168.1.5/cb' })
    expect(turn.status).toBe(400)
    expect(turn.json.error).toMatchObject({ param: 'callback_url', code: 'webhook_url_forbidden' })
    expect((await call('POST', `/v1/webhook_endpoints/${e.id}/test`, { event_type: 'batch.completed' })).json.error).toMatchObject({ param: 'event_type' })
  })

  it('caps the endpoints of a project (WEBHOOK_MAX_ENDPOINTS_PER_PROJECT, default 16); other projects are unaffected', async () => {
    for (let i = 0; i < 16; i++) expect((await create({ name: `e${i}` })).status).toBe(200)
    const over = await create({ name: 'one too many' })
    expect(over.status).toBe(400)
    expect(over.json.error).toMatchObject({ type: 'invalid_request_error', code: 'webhook_endpoint_limit_reached' })
    expect(over.json.error.message).toContain('WEBHOOK_MAX_ENDPOINTS_PER_PROJECT')
    expect((await call('GET', '/v1/webhook_endpoints?limit=100')).json.data).toHaveLength(16)
    expect((await create({}, 'sk-b')).status).toBe(200)
    const { json: first } = await call('GET', '/v1/webhook_endpoints?limit=1')
    await call('DELETE', `/v1/webhook_endpoints/${first.data[0].id}`)
    expect((await create({ name: 'after a delete' })).status).toBe(200)
  })

  it('lists the event types, and a project signing secret that is created once and rotates', async () => {
    const types = await call('GET', '/v1/webhook_event_types')
    expect(types.json.object).toBe('list')
    expect(types.json.data).toEqual(expect.arrayContaining(['thread.run.completed', 'thread.run.requires_action', 'thread.turn.completed']))

    // Shown whole only by the call that created it (and by rotations), like endpoint secrets.
    const first = await call('GET', '/v1/webhook_signing_secret')
    expect(first.json).toMatchObject({ object: 'webhook_signing_secret', previous_secret_expires_at: null })
    expect(first.json.signing_secret).toMatch(/^whsec_/)
    const again = await call('GET', '/v1/webhook_signing_secret')
    expect(again.json).not.toHaveProperty('signing_secret')
    expect(again.json.signing_secret_hint).toBe(first.json.signing_secret_hint)
    expect(JSON.stringify(again.json)).not.toContain(first.json.signing_secret.slice(6, 20))
    const other = await call('GET', '/v1/webhook_signing_secret', undefined, 'sk-b')
    expect(other.json.signing_secret).toMatch(/^whsec_/)
    expect(other.json.signing_secret).not.toBe(first.json.signing_secret)

    const rotated = await call('POST', '/v1/webhook_signing_secret/rotate', { keep_old_secret_active_for_24_hours: true })
    expect(rotated.json.signing_secret).toMatch(/^whsec_/)
    expect(rotated.json.signing_secret).not.toBe(first.json.signing_secret)
    expect((await call('GET', '/v1/webhook_signing_secret')).json).not.toHaveProperty('signing_secret')
    expect(rotated.json.previous_secret_expires_at).toBeGreaterThan(Date.now() / 1000 + 86_000)
    expect((await call('GET', '/v1/webhook_callback_deliveries')).json).toMatchObject({ object: 'list', data: [] })
  })

  it('documents every route in /openapi.json', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as Json
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/webhook_endpoints',
        '/v1/webhook_endpoints/{webhook_endpoint_id}',
        '/v1/webhook_endpoints/{webhook_endpoint_id}/rotate_secret',
        '/v1/webhook_endpoints/{webhook_endpoint_id}/test',
        '/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries',
        '/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries/{delivery_id}/retry',
        '/v1/webhook_event_types',
        '/v1/webhook_signing_secret',
        '/v1/webhook_signing_secret/rotate',
        '/v1/webhook_callback_deliveries',
        '/v1/webhook_callback_deliveries/{delivery_id}/retry',
      ]),
    )
    expect(doc.components.schemas.WebhookEventType.enum).toContain('thread.run.completed')
  })

  it('lists and retries logged deliveries', async () => {
    const { json: e } = await create()
    const empty = await call('GET', `/v1/webhook_endpoints/${e.id}/deliveries`)
    expect(empty.json).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false })

    // What the dispatcher records for an attempt (services/webhooks).
    const log = stores.webhookEndpoints.deliveries
    await log.saveEvent('alpha', 'evt_1', { body: '{}', type: 'thread.run.completed', thread: 'thread_1', callbackUrl: null }, 60)
    const recorded = await log.record(
      'alpha',
      e.id,
      {
        webhook_endpoint_id: e.id,
        url: e.url,
        event_id: 'evt_1',
        event_type: 'thread.run.completed',
        thread_id: 'thread_1',
        attempt: 1,
        trigger: 'event',
        status: 'failed',
        response_status_code: 500,
        latency_ms: 12,
        error: 'http_500',
        next_attempt_at: null,
      },
      'failure',
    )
    const list = await call('GET', `/v1/webhook_endpoints/${e.id}/deliveries`)
    expect(list.json.data).toEqual([expect.objectContaining({ id: recorded?.id, object: 'webhook_delivery', status: 'failed', response_status_code: 500 })])

    const retry = await call('POST', `/v1/webhook_endpoints/${e.id}/deliveries/${recorded?.id}/retry`)
    expect(retry.json).toEqual({ object: 'webhook_delivery.retry', delivery_id: recorded?.id, webhook_endpoint_id: e.id, event_id: 'evt_1', status: 'scheduled' })
    const requests = await fx.redis.xrange(stores.keys.webhookControl, '-', '+')
    expect(requests.map(([, fields]) => fields)).toEqual([['kind', 'redeliver', 'project', 'alpha', 'target', e.id, 'evt', 'evt_1', 'delivery', recorded?.id]])
    expect((await call('POST', `/v1/webhook_endpoints/${e.id}/deliveries/dlv_nope/retry`)).status).toBe(404)
    expect((await call('POST', `/v1/webhook_endpoints/${e.id}/deliveries/${recorded?.id}/retry`, undefined, 'sk-b')).status).toBe(404)
  })
})
