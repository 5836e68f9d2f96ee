import { Validator } from '@seriousme/openapi-schema-validator'
import { ApiError } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { createDrainQueues } from '@threadwork/queue'
import { createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type App, type AppDeps, createApp } from './app.js'
import { type Operations, createOperations } from './operations.js'
import { createServices } from './services.js'

const TOKEN = 'admin-token-0123456789'
let fx: RedisFixture
let ops: Operations
let stores: ReturnType<typeof createStores>
let queues: ReturnType<typeof createDrainQueues>

function build(extra: Partial<AppDeps> = {}): App {
  return createApp({
    redis: fx.redis,
    stores,
    ...createServices({ stores, queues, modelStatus: () => 'ok', runExpiresAfterSeconds: 600, publishCancel: async () => {} }),
    apiKeys: new Map([['sk-a', 'alpha']]),
    models: { list: async () => [], retrieve: async (id) => Promise.reject(ApiError.notFound('model', id)) },
    log: createLogger({ service: 'test', level: 'silent' }),
    admin: ops.admin,
    metrics: ops.metrics,
    durability: ops.durability,
    ...extra,
  })
}

beforeEach(async () => {
  fx = await createRedisFixture('ops')
  stores = createStores(fx.redis, fx.prefix, 2)
  queues = createDrainQueues(fx.redis, stores.keys)
  ops = createOperations({ redis: fx.redis, stores, drainQueues: queues, log: createLogger({ service: 'test', level: 'silent' }), adminToken: TOKEN })
})
afterEach(async () => {
  await queues.close()
  await ops.close()
  await fx.cleanup()
})

const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`

describe('queue dashboard (/admin/queues)', () => {
  it('does not exist without ADMIN_TOKEN', async () => {
    const app = build({ admin: null })
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/login']) {
      const res = await app.request(path, { headers: { authorization: basic(TOKEN) } })
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string | null; message: string } }).error).toMatchObject({
        code: null,
        message: `Invalid URL (GET ${path})`,
      })
    }
  })

  it('guards both the base path and everything under it', async () => {
    const app = build()
    // Wrong tokens: 401, until the sign-in throttle (5 per address per 15 min) answers 429 instead.
    let wrong = 0
    const refused = (status: number) => (++wrong <= 4 ? [401] : [401, 429]).includes(status)
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const anon = await app.request(path)
      expect(anon.status, path).toBe(401)
      expect(anon.headers.get('www-authenticate')).toContain('Basic')
      expect(refused((await app.request(path, { headers: { authorization: basic('wrong-token-000000000') } })).status), path).toBe(true)
      expect(refused((await app.request(path, { headers: { authorization: `Bearer ${TOKEN}x` } })).status), path).toBe(true)
    }
    const browser = await app.request('/admin/queues', { headers: { accept: 'text/html' } })
    expect(browser.status).toBe(302)
    expect(browser.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fqueues')
  })

  it('serves the UI and lists every drain and webhook shard queue to basic or bearer auth', async () => {
    const app = build()
    const page = await app.request('/admin/queues', { headers: { authorization: basic(TOKEN) } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Threadwork queues')
    const res = await app.request('/admin/queues/api/queues', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    const names = ((await res.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort()
    expect(names).toEqual(['drain-{s0}', 'drain-{s1}', 'webhooks-{s0}', 'webhooks-{s1}'])
  })

  it('logs in with a form, then the session cookie is enough; refuses cross-origin writes', async () => {
    const app = build()
    const failed = await app.request('/admin/login', { method: 'POST', body: new URLSearchParams({ token: 'nope', next: '/admin/queues' }) })
    expect(failed.status).toBe(303)
    expect(failed.headers.get('location')).toContain('failed=1')
    const ok = await app.request('/admin/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: 'https://evil.example/' }) })
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe('/admin/queues')
    const setCookie = ok.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Strict/i)
    expect(setCookie).not.toContain(TOKEN)
    const cookie = setCookie.split(';')[0]!
    expect((await app.request('/admin/queues/api/queues', { headers: { cookie } })).status).toBe(200)
    const cross = await app.request('http://localhost/admin/queues/api/queues/drain-%7Bs0%7D/clean/failed', {
      method: 'PUT',
      headers: { cookie, origin: 'https://evil.example' },
    })
    expect(cross.status).toBe(403)
  })

  it('shows job data redacted, and retries a failed job', async () => {
    const app = build()
    const q = queues.queues[0]!
    const job = await q.add('drain', { threadId: 'thread_abc', content: 'very private words' } as never, { attempts: 1 })
    // Fail it the way a worker would.
    const { Worker } = await import('bullmq')
    const { Redis } = await import('ioredis')
    const conn = new Redis(fx.url, { maxRetriesPerRequest: null })
    const w = new Worker(q.name, async () => Promise.reject(new Error('boom')), { connection: conn, prefix: fx.prefix })
    await expect.poll(async () => (await q.getJob(job.id!))?.failedReason, { timeout: 30_000 }).toBe('boom')
    await w.close()
    conn.disconnect()

    const auth = { authorization: `Bearer ${TOKEN}` }
    const name = encodeURIComponent(q.name)
    const seen = await app.request(`/admin/queues/api/queues/${name}/${job.id}`, { headers: auth })
    expect(seen.status).toBe(200)
    const body = JSON.stringify(await seen.json())
    expect(body).toContain('thread_abc')
    expect(body).not.toContain('very private words')

    const retry = await app.request(`/admin/queues/api/queues/${name}/${job.id}/retry`, { method: 'PUT', headers: auth })
    expect(retry.ok).toBe(true)
    expect(await (await q.getJob(job.id!))!.getState()).toBe('waiting')

    // "Clean all" keeps jobs younger than bull-board's 5 s grace; one job's clean removes it now.
    const clean = await app.request(`/admin/queues/api/queues/${name}/${job.id}/clean`, { method: 'PUT', headers: auth })
    expect(clean.ok).toBe(true)
    expect(await q.getJob(job.id!)).toBeUndefined()
  })
})

describe('/metrics', () => {
  it('reports queue depth and age per queue, pending threads per shard, HTTP requests', async () => {
    const app = build()
    const thread = (await (await app.request('/v1/threads', { method: 'POST', headers: { authorization: 'Bearer sk-a' } })).json()) as { id: string }
    expect(thread.id).toMatch(/^thread_/)
    await queues.queues[1]!.add('drain', { threadId: 'thread_x' } as never)
    const res = await app.request('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toContain('threadwork_redis_up 1')
    expect(text).toContain('threadwork_queue_jobs{queue="drain-{s1}",state="waiting"} 1')
    expect(text).toContain('threadwork_queue_jobs{queue="webhooks-{s0}",state="failed"} 0')
    expect(text).toMatch(/threadwork_queue_oldest_waiting_seconds\{queue="drain-\{s1\}"\} \d/)
    expect(text).toContain('threadwork_pending_threads{shard="1"}')
    expect(text).toContain('threadwork_http_requests_total{method="POST",route="/v1/threads",status="200"} 1')
  })
})

describe('/metrics on a public address (safe by default)', () => {
  const opsWith = (o: { metricsToken?: string; metricsPublicBind?: boolean }) =>
    createOperations({ redis: fx.redis, stores, drainQueues: queues, log: createLogger({ service: 'test', level: 'silent' }), ...o })

  it('is refused without METRICS_TOKEN when the API listens beyond loopback, with OpenAI’s error body naming the setting', async () => {
    const open = opsWith({ metricsPublicBind: true })
    const res = await build({ metrics: open.metrics }).request('/metrics')
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: expect.objectContaining({ message: expect.stringContaining('METRICS_TOKEN'), type: 'invalid_request_error', code: 'invalid_api_key' }) })
    await open.close()
  })

  it('is served with the token on a public address, and open on loopback without one', async () => {
    const guarded = opsWith({ metricsPublicBind: true, metricsToken: 'metrics-token-0123456789' })
    const app = build({ metrics: guarded.metrics })
    expect((await app.request('/metrics')).status).toBe(401)
    expect((await app.request('/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(200)
    await guarded.close()
    const loopback = opsWith({ metricsPublicBind: false })
    expect((await build({ metrics: loopback.metrics }).request('/metrics')).status).toBe(200)
    await loopback.close()
  })
})

describe('/docs and /openapi.json', () => {
  it('serves Swagger UI with its assets from the package (no CDN)', async () => {
    const app = build()
    const page = await app.request('/docs')
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).not.toMatch(/https?:\/\//)
    for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const asset = await app.request(src[1]!)
      expect(asset.status, src[1]).toBe(200)
    }
    expect((await app.request('/docs/assets/package.json')).status).toBe(404)
  })

  it('documents every /v1 route in a valid OpenAPI 3.1 document', async () => {
    // The vector store routes are mounted only with their services; generating the document calls none of them.
    const app = build({ vectorStores: { service: {}, search: {}, toolResources: {} } as never })
    const doc = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    // Against the official OpenAPI 3.1 JSON schema.
    const validation = await new Validator().validate(doc as never)
    expect(validation.errors ?? []).toEqual([])
    expect(validation.valid).toBe(true)
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)))
    const routes = app.routes
      .filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
    expect(routes.length).toBeGreaterThan(20)
    expect([...new Set(routes)].filter((r) => !documented.has(r))).toEqual([])
  })

  it('groups operations by resource in reference order, each with a summary, bearer auth and its error responses', async () => {
    type Op = {
      summary?: string
      tags?: string[]
      security?: unknown
      requestBody?: { content: Record<string, unknown> }
      responses: Record<string, { content?: Record<string, { schema: unknown }> }>
    }
    // The vector store routes are mounted only with their services; generating the document calls none of them.
    const app = build({ vectorStores: { service: {}, search: {}, toolResources: {} } as never })
    const doc = (await (await app.request('/openapi.json')).json()) as {
      tags: { name: string; description: string }[]
      paths: Record<string, Record<string, Op>>
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties?: Record<string, unknown> }> }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(Object.keys(doc.components.schemas.Error?.properties ?? {})).toEqual(['error'])
    const names = doc.tags.map((t) => t.name)
    // OpenAI's reference order, then the extensions; every group described; no catch-all group.
    expect(names).toEqual([
      'Assistants',
      'Threads',
      'Messages',
      'Runs',
      'Run steps',
      'Files',
      'Uploads',
      'Vector stores',
      'Vector store files',
      'Vector store file batches',
      'Models',
      'Turns',
      'Webhook endpoints',
      'Webhook events',
    ])
    for (const t of doc.tags) expect(t.description, t.name).not.toBe('')
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op })))
    const tagOf = (at: string) => ops.find((o) => o.at === at)?.op.tags
    expect(tagOf('GET /v1/threads/{thread_id}/runs/{run_id}/steps')).toEqual(['Run steps'])
    expect(tagOf('POST /v1/threads/runs')).toEqual(['Runs'])
    expect(tagOf('POST /v1/turns')).toEqual(['Turns'])
    expect(tagOf('GET /v1/webhook_endpoints/{webhook_endpoint_id}/deliveries')).toEqual(['Webhook endpoints'])
    expect(tagOf('POST /v1/webhook_signing_secret/rotate')).toEqual(['Webhook events'])
    expect(tagOf('GET /v1/vector_stores/{vector_store_id}/files')).toEqual(['Vector store files'])
    expect(tagOf('POST /v1/vector_stores/{vector_store_id}/file_batches')).toEqual(['Vector store file batches'])
    expect(tagOf('POST /v1/vector_stores/{vector_store_id}/search')).toEqual(['Vector stores'])
    expect(ops.find((o) => o.at === 'POST /v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs')?.op.summary).toBe('Submit tool outputs to run')
    const error = { $ref: '#/components/schemas/Error' }
    for (const { at, op } of ops) {
      expect(op.tags, at).toHaveLength(1)
      expect(op.summary, at).toMatch(/^[A-Z]/)
      expect(op.security, at).toEqual([{ bearerAuth: [] }])
      const statuses = ['400', '401', '404', '500', '503', ...(op.requestBody ? ['413', '415'] : [])]
      for (const s of statuses) expect(op.responses[s]?.content?.['application/json']?.schema, `${at} ${s}`).toEqual(error)
      // The API has no rate limit of its own: no 429 is promised.
      expect(op.responses['429'], at).toBeUndefined()
    }
    expect(Object.keys(ops.find((o) => o.at === 'POST /v1/turns')!.op.responses)).toContain('409')
    expect(Object.keys(ops.find((o) => o.at === 'POST /v1/uploads/{upload_id}/complete')!.op.responses)).toContain('409')
  })
})
