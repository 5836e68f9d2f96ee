import { afterEach, describe, expect, it } from 'vitest'
import { createModelCheck } from './model-check.js'
import { createProviderRouter } from './provider-router.js'
import { type ChatServer, type ChatServerHandler, startChatServer } from './test-support/chat-server.js'

const servers: ChatServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
const modelsServer = async (reply: ChatServerHandler) => {
  const server = await startChatServer(reply)
  servers.push(server)
  return server
}
const listing = (...ids: string[]) => ({ json: { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1, owned_by: 'x' })) } })

describe('createModelCheck', () => {
  it('refuses a name the serving provider does not list, reading the list once per ttl', async () => {
    const upstream = await modelsServer(() => listing('gpt-4o', 'gpt-4o-mini'))
    let clock = 0
    const check = createModelCheck(createProviderRouter({ defaultProvider: { baseURL: upstream.baseURL } }), { ttlMs: 1000, now: () => clock })
    expect(await Promise.all([check('gpt-4o'), check('no-such-model'), check('gpt-4o-mini')])).toEqual(['ok', 'not_found', 'ok'])
    expect(upstream.requests.filter((r) => r.path === '/models')).toHaveLength(1)
    clock = 999
    expect(await check('no-such-model')).toBe('not_found')
    expect(upstream.requests).toHaveLength(1)
    clock = 1000
    expect(await check('gpt-4o')).toBe('ok')
    expect(upstream.requests).toHaveLength(2)
  })

  it('accepts names of a provider whose list is unavailable, of routes marked anyModel, and of routes that name them', async () => {
    const broken = await modelsServer(() => ({ status: 500, json: { error: { message: 'down' } } }))
    const strict = await modelsServer(() => listing('strict-a'))
    const errors: string[] = []
    const router = createProviderRouter({
      routes: [
        { name: 'broken', match: 'broken-*', baseURL: broken.baseURL },
        { name: 'dead', match: 'dead-*', baseURL: 'http://127.0.0.1:1/v1' },
        { name: 'gateway', match: 'gw-*', baseURL: strict.baseURL, anyModel: true },
        { name: 'named', match: 'named-model', baseURL: strict.baseURL },
        { name: 'listed', match: 'listed-*', baseURL: strict.baseURL, models: ['extra-name'] },
        { name: 'strict', match: 'strict-*', baseURL: strict.baseURL },
      ],
    })
    const check = createModelCheck(router, { onProviderError: (p) => errors.push(p.name) })
    expect(await check('broken-x')).toBe('ok')
    expect(await check('dead-x')).toBe('ok')
    expect(await check('gw-anything')).toBe('ok')
    expect(await check('named-model')).toBe('ok')
    expect(await check('extra-name')).toBe('ok')
    expect(await check('strict-a')).toBe('ok')
    expect(await check('strict-b')).toBe('not_found')
    expect(await check('elsewhere')).toBe('no_provider')
    expect(errors.sort()).toEqual(['broken', 'dead'])
    expect(await createModelCheck(createProviderRouter())('anything')).toBe('unconfigured')
  })
})
