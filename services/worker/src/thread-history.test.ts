import { type Message, newMessage } from '@threadwork/domain'
import { createStores, encodeFields } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadHistory } from './thread-history.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(async () => {
  await fx.cleanup()
})

const thread = 'thread_hist'
const message = (id: string, text: string): Message =>
  newMessage({ id, threadId: thread, createdAt: 1, params: { role: 'user', content: text, attachments: [], metadata: {} } })
/** Stores a message as the scripts do: its hash and its place in the thread's index. */
async function store(m: Message, seq: number): Promise<void> {
  await fx.redis.hset(stores.keys.message(thread, m.id), ...encodeFields(m))
  await fx.redis.zadd(stores.keys.messages(thread), seq, m.id)
}
const texts = (ms: Message[]) => ms.map((m) => (m.content[0]?.type === 'text' ? m.content[0].text.value : '?'))

describe('loadHistory', () => {
  it('takes the message the caller just stored from `known`, not from Redis, in its place', async () => {
    await store(message('msg_a', 'first'), 1)
    await store(message('msg_b', 'stored copy'), 2)
    await store(message('msg_c', 'third'), 3)
    // A `known` copy that differs from the stored one shows which of the two was used.
    const known = message('msg_b', 'known copy')
    for (const lastMessages of [null, 10]) {
      const history = await loadHistory(fx.redis, stores.keys, thread, { lastMessages, budgetTokens: 10_000, known })
      expect(texts(history)).toEqual(['first', 'known copy', 'third'])
    }
    // Only the index says what is in the thread: a known message no longer in it is left out.
    await fx.redis.zrem(stores.keys.messages(thread), 'msg_b')
    const history = await loadHistory(fx.redis, stores.keys, thread, { lastMessages: null, budgetTokens: 10_000, known })
    expect(texts(history)).toEqual(['first', 'third'])
  })

  it('reads nothing but the index for a thread holding only the known message', async () => {
    const known = message('msg_only', 'hello')
    await store(known, 1)
    // Deleted behind the index's back: had it been read, the message would be missing.
    await fx.redis.del(stores.keys.message(thread, 'msg_only'))
    expect(texts(await loadHistory(fx.redis, stores.keys, thread, { lastMessages: null, budgetTokens: 10_000, known }))).toEqual(['hello'])
    expect(await loadHistory(fx.redis, stores.keys, thread, { lastMessages: null, budgetTokens: 10_000 })).toEqual([])
  })

  it("reads a final message once per process: the next turn's history takes it from the cache, and still follows the index", async () => {
    const t = 'thread_cached'
    const stored = (id: string, text: string, status: Message['status']): Message => ({
      ...newMessage({ id, threadId: t, createdAt: 1, params: { role: 'user', content: text, attachments: [], metadata: {} } }),
      status,
    })
    const put = async (m: Message, seq: number) => {
      await fx.redis.hset(stores.keys.message(t, m.id), ...encodeFields(m))
      await fx.redis.zadd(stores.keys.messages(t), seq, m.id)
    }
    await put(stored('msg_done', 'done', 'completed'), 1)
    await put(stored('msg_cut', 'cut', 'incomplete'), 2)
    await put(stored('msg_open', 'open v1', 'in_progress'), 3)
    const load = async () => texts(await loadHistory(fx.redis, stores.keys, t, { lastMessages: null, budgetTokens: 10_000 }))
    expect(await load()).toEqual(['done', 'cut', 'open v1'])
    // Changed behind the cache's back: final messages come from the cache, the in_progress one is read again.
    await fx.redis.hset(stores.keys.message(t, 'msg_done'), ...encodeFields(stored('msg_done', 'done v2', 'completed')))
    await fx.redis.del(stores.keys.message(t, 'msg_cut'))
    await fx.redis.hset(stores.keys.message(t, 'msg_open'), ...encodeFields(stored('msg_open', 'open v2', 'completed')))
    expect(await load()).toEqual(['done', 'cut', 'open v2'])
    // The index decides what is in the thread: a message deleted from it is not offered from the cache.
    await fx.redis.zrem(stores.keys.messages(t), 'msg_cut')
    expect(await load()).toEqual(['done', 'open v2'])
  })
})
