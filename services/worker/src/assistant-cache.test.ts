import { ApiError } from '@threadwork/domain'
import { AssistantCache, createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readAssistant } from './assistant-cache.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(async () => {
  await fx.cleanup()
})

describe('readAssistant', () => {
  it('reads the stored assistant every time: the same parsed object while unchanged, the update once it is stored', async () => {
    const created = await stores.assistants.create('p1', { model: 'm', instructions: 'first' })
    const a = await readAssistant(fx.redis, stores.keys, 'p1', created.id)
    expect(a).toEqual(await stores.assistants.get('p1', created.id))
    expect(await readAssistant(fx.redis, stores.keys, 'p1', created.id)).toBe(a)
    await stores.assistants.update('p1', created.id, { instructions: 'second' })
    const b = await readAssistant(fx.redis, stores.keys, 'p1', created.id)
    expect(b.instructions).toBe('second')
    expect(b).toEqual(await stores.assistants.get('p1', created.id))
  })

  it("is a 404 for a missing assistant or another project's, as stores.assistants.get", async () => {
    const created = await stores.assistants.create('p1', { model: 'm' })
    for (const [project, id] of [
      ['p2', created.id],
      ['p1', 'asst_missing'],
    ] as const) {
      const err = await readAssistant(fx.redis, stores.keys, project, id).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).status).toBe(404)
    }
  })
})

describe('AssistantCache', () => {
  it('parses again when a field is added, removed or changed; keeps at most its bound', async () => {
    const created = await stores.assistants.create('p1', { model: 'm', name: 'n' })
    const raw = await fx.redis.hgetall(stores.keys.assistant('p1', created.id))
    const cache = new AssistantCache(2)
    const first = cache.parse('k1', raw)
    expect(cache.parse('k1', { ...raw })).toBe(first)
    expect(cache.parse('k1', { ...raw, instructions: '"x"' }).instructions).toBe('x')
    // A field more, then one fewer: parsed again each time.
    const more = cache.parse('k1', { ...raw, _extra: '1' })
    expect(more).not.toBe(first)
    expect(cache.parse('k1', raw)).not.toBe(more)
    cache.parse('k2', raw)
    cache.parse('k3', raw)
    expect(cache.size).toBe(2)
  })
})
