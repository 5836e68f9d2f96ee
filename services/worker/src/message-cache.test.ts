import { type Message, newMessage } from '@threadwork/domain'
import { describe, expect, it } from 'vitest'
import { MessageCache } from './message-cache.js'

const message = (id: string, text: string, status: Message['status'] = 'completed'): Message => ({
  ...newMessage({ id, threadId: 'thread_c', createdAt: 1, params: { role: 'user', content: text, attachments: [], metadata: {} } }),
  status,
})

describe('MessageCache', () => {
  it('keeps final messages only', () => {
    const cache = new MessageCache(1_000_000)
    cache.set('a', message('msg_a', 'x', 'completed'))
    cache.set('b', message('msg_b', 'x', 'incomplete'))
    cache.set('c', message('msg_c', 'x', 'in_progress'))
    expect([cache.get('a')?.id, cache.get('b')?.id, cache.get('c')]).toEqual(['msg_a', 'msg_b', undefined])
  })

  it('stays within its character bound, evicting the least recently used first', () => {
    // Each entry counts its text plus 256 + 64 of overhead: 1,320 characters for 1,000 of text.
    const cache = new MessageCache(3 * 1_320)
    for (const id of ['a', 'b', 'c']) cache.set(id, message(`msg_${id}`, 'x'.repeat(1_000)))
    expect(cache.size).toBe(3)
    cache.get('a') // now the most recently used: b goes first
    cache.set('d', message('msg_d', 'x'.repeat(1_000)))
    expect([cache.get('a')?.id, cache.get('b'), cache.get('c')?.id, cache.get('d')?.id]).toEqual(['msg_a', undefined, 'msg_c', 'msg_d'])
    // Larger than the whole bound: not kept, nothing evicted for it.
    cache.set('huge', message('msg_huge', 'x'.repeat(10_000)))
    expect(cache.get('huge')).toBeUndefined()
    expect(cache.size).toBe(3)
  })
})
