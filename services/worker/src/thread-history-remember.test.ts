import { type Message, newMessage } from '@threadwork/domain'
import { createStores, encodeFields } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadHistory, rememberMessage } from './thread-history.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(async () => {
  await fx.cleanup()
})

const thread = 'thread_remember'
const message = (id: string, text: string, status: Message['status'] = 'completed'): Message => ({
  ...newMessage({ id, threadId: thread, createdAt: 1, params: { role: 'user', content: text, attachments: [], metadata: {} } }),
  status,
})
const texts = (ms: Message[]) => ms.map((m) => (m.content[0]?.type === 'text' ? m.content[0].text.value : '?'))

describe('rememberMessage', () => {
  it('a message the worker stored is not read back by a later turn; one still in progress is', async () => {
    let seq = 0
    for (const m of [message('msg_final', 'stored final'), message('msg_open', 'stored open', 'in_progress')]) {
      await fx.redis.hset(stores.keys.message(thread, m.id), ...encodeFields(m))
      await fx.redis.zadd(stores.keys.messages(thread), ++seq, m.id)
    }
    // Copies that differ from the stored ones show which was used.
    rememberMessage(stores.keys, thread, message('msg_final', 'remembered final'))
    rememberMessage(stores.keys, thread, message('msg_open', 'remembered open', 'in_progress'))
    const history = await loadHistory(fx.redis, stores.keys, thread, { lastMessages: null, budgetTokens: 10_000 })
    expect(texts(history)).toEqual(['remembered final', 'stored open'])
  })
})
