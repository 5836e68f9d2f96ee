import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createStores } from './stores.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

describe('assistants.get: parsed once per stored version', () => {
  it('returns the same object while the stored assistant is unchanged, and the update once stored', async () => {
    const created = await stores.assistants.create('p1', { model: 'm1', name: 'a' })
    const first = await stores.assistants.get('p1', created.id)
    expect(first).toEqual(created)
    expect(await stores.assistants.get('p1', created.id)).toBe(first)
    expect((await stores.assistants.getStamped('p1', created.id)).assistant).toBe(first)

    await stores.assistants.update('p1', created.id, { name: 'b' })
    const updated = await stores.assistants.get('p1', created.id)
    expect(updated).not.toBe(first)
    expect(updated.name).toBe('b')
    expect(first.name).toBe('a')

    // A field changed behind the store's back (another process) is seen too.
    await fx.redis.hset(`${fx.prefix}:{p:p1}:asst:${created.id}`, 'model', JSON.stringify('m2'))
    expect((await stores.assistants.get('p1', created.id)).model).toBe('m2')
    // A field added, then removed.
    await fx.redis.hset(`${fx.prefix}:{p:p1}:asst:${created.id}`, 'reasoning_effort', JSON.stringify('low'))
    expect((await stores.assistants.get('p1', created.id)).reasoning_effort).toBe('low')
    await fx.redis.hdel(`${fx.prefix}:{p:p1}:asst:${created.id}`, 'reasoning_effort')
    expect((await stores.assistants.get('p1', created.id)).reasoning_effort).toBeUndefined()
  })

  it('answers 404 for a deleted assistant or another project, whatever it parsed before', async () => {
    const created = await stores.assistants.create('p1', { model: 'm1' })
    await stores.assistants.get('p1', created.id)
    await expect(stores.assistants.get('p2', created.id)).rejects.toMatchObject({ status: 404, message: `No assistant found with id '${created.id}'.` })
    await stores.assistants.delete('p1', created.id)
    await expect(stores.assistants.get('p1', created.id)).rejects.toMatchObject({ status: 404, message: `No assistant found with id '${created.id}'.` })
  })
})
