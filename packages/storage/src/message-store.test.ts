import { ApiError, type ListQuery } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Stores, createStores } from './stores.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

const q = (over: Partial<ListQuery> = {}): ListQuery => ({ limit: 20, order: 'desc', ...over })

async function threadWith(n: number) {
  const { thread } = await stores.threads.create('p1')
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await stores.messages.create('p1', thread.id, { role: 'user', content: `m${i}` })).id)
  return { thread, ids }
}

describe('message store', () => {
  it('stores a thread created with 8,000 messages in one script call (~170,000 arguments), not a RangeError', async () => {
    // Spreading that many arguments into the script's call overflowed the stack (a 500 on POST /threads
    // and on a run's additional_messages); the API caps thread creation at 32, runs' extra messages are not.
    const messages = Array.from({ length: 8000 }, (_, i) => ({ role: 'user' as const, content: `m${i}` }))
    const { thread } = await stores.threads.create('p1', { messages })
    const page = await stores.messages.list('p1', thread.id, q({ order: 'asc', limit: 2 }))
    expect(page.data.map((m) => (m.content[0] as { text: { value: string } }).text.value)).toEqual(['m0', 'm1'])
    expect(await fx.redis.zcard(stores.keys.messages(thread.id))).toBe(8000)
  })

  it('pages in both orders without skipping or repeating, ties within one second included', async () => {
    const { thread, ids } = await threadWith(45)
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = []
      let after: string | undefined
      for (;;) {
        const page = await stores.messages.list('p1', thread.id, q({ order, after, limit: 10 }))
        seen.push(...page.data.map((m) => m.id))
        if (!page.has_more) break
        after = page.last_id!
      }
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse())
    }
  })

  it('reads `before` as the previous page: the limit items right before it, in list order', async () => {
    const { thread, ids } = await threadWith(10)
    const page = await stores.messages.list('p1', thread.id, q({ order: 'asc', before: ids[5], limit: 2 }))
    expect(page.data.map((m) => m.id)).toEqual([ids[3], ids[4]])
    expect(page.has_more).toBe(true)
    const rest = await stores.messages.list('p1', thread.id, q({ order: 'asc', before: ids[3], limit: 3 }))
    expect(rest.data.map((m) => m.id)).toEqual(ids.slice(0, 3))
    expect(rest.has_more).toBe(false)
    const both = await stores.messages.list('p1', thread.id, q({ order: 'asc', after: ids[1], before: ids[5] }))
    expect(both.data.map((m) => m.id)).toEqual(ids.slice(2, 5))
    expect(both.has_more).toBe(false)
    const bothCut = await stores.messages.list('p1', thread.id, q({ order: 'asc', after: ids[1], before: ids[6], limit: 2 }))
    expect(bothCut.data.map((m) => m.id)).toEqual([ids[4], ids[5]])
    expect(bothCut.has_more).toBe(true)
    const desc = await stores.messages.list('p1', thread.id, q({ order: 'desc', before: ids[5], limit: 2 }))
    expect(desc.data.map((m) => m.id)).toEqual([ids[7], ids[6]])
    expect(desc.has_more).toBe(true)
    const descEnd = await stores.messages.list('p1', thread.id, q({ order: 'desc', before: ids[7], limit: 5 }))
    expect(descEnd.data.map((m) => m.id)).toEqual([ids[9], ids[8]])
    expect(descEnd.has_more).toBe(false)
  })

  it('hides threads and messages of other projects as missing', async () => {
    const { thread, ids } = await threadWith(1)
    await expect(stores.messages.get('p2', thread.id, ids[0]!)).rejects.toMatchObject({ status: 404 })
    await expect(stores.messages.list('p2', thread.id, q())).rejects.toMatchObject({ status: 404, message: `No thread found with id '${thread.id}'.` })
    await expect(stores.messages.create('p2', thread.id, { role: 'user', content: 'x' })).rejects.toBeInstanceOf(ApiError)
    await expect(stores.threads.delete('p2', thread.id)).rejects.toMatchObject({ status: 404 })
  })

  it('modifies metadata, deletes a message, and deletes a thread with everything under it', async () => {
    const { thread, ids } = await threadWith(3)
    const m = await stores.messages.update('p1', thread.id, ids[1]!, { metadata: { k: 'v' } })
    expect(m.metadata).toEqual({ k: 'v' })
    expect(m.content).toEqual([{ type: 'text', text: { value: 'm1', annotations: [] } }])
    await stores.messages.delete('p1', thread.id, ids[1]!)
    const page = await stores.messages.list('p1', thread.id, q({ order: 'asc' }))
    expect(page.data.map((x) => x.id)).toEqual([ids[0], ids[2]])
    await stores.threads.delete('p1', thread.id)
    expect(await fx.redis.keys(`${stores.keys.threadPrefix(thread.id)}*`)).toEqual([])
  })

  it('rejects an unknown cursor with a 400 naming the parameter', async () => {
    const { thread } = await threadWith(2)
    await expect(stores.messages.list('p1', thread.id, q({ after: 'msg_nope' }))).rejects.toMatchObject({ status: 400, opts: { param: 'after' } })
  })
})
