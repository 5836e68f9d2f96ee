import { afterEach, describe, expect, it, vi } from 'vitest'
import { ModelsCatalogError, createModelsCatalog } from './models-cache.js'
import { createProviderRouter } from './provider-router.js'
import { type ChatServer, type ChatServerHandler, type ChatServerReply, startChatServer } from './test-support/chat-server.js'

const servers: ChatServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const modelsServer = async (reply: ChatServerHandler) => {
  const server = await startChatServer(reply)
  servers.push(server)
  return server
}
const listing = (...ids: string[]) => ({
  json: { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'upstream', max_model_len: 4096 })) },
})

describe('createModelsCatalog', () => {
  it('lists the union of providers, keeping only models routed back to their provider', async () => {
    const openai = await modelsServer(() => listing('gpt-4o', 'deepseek-chat', 'gpt-4o-mini'))
    const deepseek = await modelsServer(() => listing('deepseek-chat', 'deepseek-reasoner'))
    const router = createProviderRouter({
      defaultProvider: { baseURL: openai.baseURL, apiKey: 'k' },
      routes: [
        { match: 'deepseek-*', baseURL: deepseek.baseURL },
        { name: 'local', match: 'local-only', baseURL: 'http://127.0.0.1:9/v1', models: ['llama3:8b'] },
      ],
    })
    const catalog = createModelsCatalog(router)
    const models = await catalog.list()
    expect(models.map((m) => m.id)).toEqual(['deepseek-chat', 'deepseek-reasoner', 'llama3:8b', 'gpt-4o', 'gpt-4o-mini'])
    expect(models[0]).toEqual({ id: 'deepseek-chat', object: 'model', created: 1700000000, owned_by: 'upstream' })
    expect(models[2]).toEqual({ id: 'llama3:8b', object: 'model', created: 0, owned_by: 'local' })
    expect(await catalog.retrieve('gpt-4o-mini')).toMatchObject({ id: 'gpt-4o-mini' })
    expect(await catalog.retrieve('nope')).toBeNull()
    expect(openai.requests[0]?.path).toBe('/models')
  })

  it('caches for ttlMs and shares one refresh between concurrent callers', async () => {
    const server = await modelsServer(() => listing('m1'))
    let clock = 1_000
    const catalog = createModelsCatalog(createProviderRouter({ defaultProvider: { baseURL: server.baseURL } }), { ttlMs: 30_000, now: () => clock })
    await Promise.all([catalog.list(), catalog.list(), catalog.retrieve('m1')])
    expect(server.requests).toHaveLength(1)
    clock += 29_999
    await catalog.list()
    expect(server.requests).toHaveLength(1)
    clock += 1
    await catalog.list()
    expect(server.requests).toHaveLength(2)
    catalog.invalidate()
    await catalog.list()
    expect(server.requests).toHaveLength(3)
  })

  it('skips failing providers and reports them', async () => {
    const good = await modelsServer(() => listing('good-1'))
    const bad = await modelsServer(() => ({ status: 500, json: { error: { message: 'boom' } } }))
    const onProviderError = vi.fn()
    const router = createProviderRouter({ defaultProvider: { baseURL: good.baseURL }, routes: [{ match: 'bad-*', baseURL: bad.baseURL }] })
    const models = await createModelsCatalog(router, { onProviderError }).list()
    expect(models.map((m) => m.id)).toEqual(['good-1'])
    expect(onProviderError).toHaveBeenCalledTimes(1)
    expect(onProviderError.mock.calls[0]?.[0].name).toBe('bad-*')
  })

  it('throws a typed 503 error when nothing is configured or every provider fails', async () => {
    const none = createModelsCatalog(createProviderRouter())
    await expect(none.list()).rejects.toBeInstanceOf(ModelsCatalogError)
    await expect(none.list()).rejects.toMatchObject({ code: 'no_providers_configured', status: 503 })

    const bad = await modelsServer(() => ({ status: 503, json: { error: { message: 'down' } } }))
    const failing = createModelsCatalog(createProviderRouter({ defaultProvider: { baseURL: bad.baseURL } }))
    await expect(failing.list()).rejects.toMatchObject({ code: 'providers_unavailable', status: 503 })
    // Failures are not cached.
    await failing.list().catch(() => {})
    expect(bad.requests).toHaveLength(2)
  })

  it('a provider that does not answer in time is skipped', async () => {
    const slow = await modelsServer(() => new Promise<ChatServerReply>((r) => setTimeout(() => r(listing('slow')), 10_000)))
    const fast = await modelsServer(() => listing('fast'))
    const router = createProviderRouter({ defaultProvider: { baseURL: fast.baseURL }, routes: [{ match: 'slow', baseURL: slow.baseURL }] })
    const started = Date.now()
    const models = await createModelsCatalog(router, { listTimeoutMs: 1_000 }).list()
    expect(models.map((m) => m.id)).toEqual(['fast'])
    // Skipped at its 1 s deadline, not waited for (10 s); loose for a loaded machine.
    expect(Date.now() - started).toBeLessThan(8_000)
  })
})
