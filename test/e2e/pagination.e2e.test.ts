/**
 * Cursor pagination through the SDK's own auto-pagination (`for await … of list()`), which asks for
 * the next page with `after: <last id>` while `has_more` is true, and the seed's manual loop.
 */
import type { ApiServer } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack } from './support.js'

const TOTAL = 250

let server: ApiServer
let client: OpenAI
let threadId: string
/** Message ids in creation order. */
let created: string[]

beforeAll(async () => {
  ;({ server, client } = await startStack())
  // 250 messages through the API: one thread create with 32 (OpenAI's most), then 218 single creates.
  const first = Array.from({ length: 32 }, (_, i) => ({ role: 'user' as const, content: `message ${i + 1}` }))
  const thread = await client.beta.threads.create({ messages: first })
  threadId = thread.id
  for (let i = 32; i < TOTAL; i++) await client.beta.threads.messages.create(threadId, { role: i % 2 ? 'assistant' : 'user', content: `message ${i + 1}` })
  const all = await collect(client.beta.threads.messages.list(threadId, { order: 'asc', limit: 100 }))
  expect(all.map(textOf)).toEqual(Array.from({ length: TOTAL }, (_, i) => `message ${i + 1}`))
  created = all.map((m) => m.id)
})
afterAll(() => server?.close())

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of pages) out.push(item)
  return out
}

const textOf = (m: OpenAI.Beta.Threads.Message) => (m.content[0]?.type === 'text' ? m.content[0].text.value : '')

describe('messages list pagination', () => {
  it('auto-paginates 250 messages in creation order (asc) exactly once each', async () => {
    const all = await collect(client.beta.threads.messages.list(threadId, { limit: 20, order: 'asc' }))
    expect(all).toHaveLength(TOTAL)
    expect(new Set(all.map((m) => m.id)).size).toBe(TOTAL)
    expect(all.map(textOf)).toEqual(Array.from({ length: TOTAL }, (_, i) => `message ${i + 1}`))
    expect(all.map((m) => m.id)).toEqual(created)
  })

  it('auto-paginates newest first (desc) exactly once each', async () => {
    const all = await collect(client.beta.threads.messages.list(threadId, { limit: 20, order: 'desc' }))
    expect(all.map((m) => m.id)).toEqual([...created].reverse())
  })

  it('walks pages by hand with has_more, first_id and last_id', async () => {
    let page = await client.beta.threads.messages.list(threadId, { limit: 20, order: 'asc' })
    const seen: string[] = []
    for (let n = 1; ; n++) {
      expect(page.data.length).toBe(n <= 12 ? 20 : 10)
      seen.push(...page.data.map((m) => m.id))
      if (!page.hasNextPage()) break
      expect(page.has_more).toBe(true)
      page = await page.getNextPage()
    }
    expect(page.has_more).toBe(false)
    expect(seen).toEqual(created)
    const raw = await (await client.beta.threads.messages.list(threadId, { limit: 20, order: 'asc', after: created[19] }).asResponse()).json()
    expect(raw).toMatchObject({ object: 'list', first_id: created[20], last_id: created[39], has_more: true })
  })

  it.each(['asc', 'desc'] as const)('before = the 200th message (%s) is the previous page: the `limit` items right before it, in list order', async (order) => {
    const cursor = created[199]!
    // OpenAI: "your subsequent call can include before=obj_foo in order to fetch the previous page".
    const inListOrder = order === 'asc' ? created : [...created].reverse()
    const at = inListOrder.indexOf(cursor)
    const page = await client.beta.threads.messages.list(threadId, { limit: 20, order, before: cursor })
    expect(page.data.map((m) => m.id)).toEqual(inListOrder.slice(at - 20, at))
    expect(page.has_more).toBe(true)
    const raw = await client.beta.threads.messages.list(threadId, { limit: 20, order, before: cursor }).asResponse().then((r) => r.json())
    expect(raw).toMatchObject({ object: 'list', first_id: inListOrder[at - 20], last_id: inListOrder[at - 1], has_more: true })
  })

  it.each(['asc', 'desc'] as const)('walks back to the start of the list with before = each page’s first_id (%s)', async (order) => {
    const inListOrder = order === 'asc' ? created : [...created].reverse()
    const last = await client.beta.threads.messages.list(threadId, { limit: 30, order, after: inListOrder[TOTAL - 31]! })
    expect(last.data.map((m) => m.id)).toEqual(inListOrder.slice(TOTAL - 30))
    const pages: string[][] = [last.data.map((m) => m.id)]
    let page = last
    while (pages.length < 20) {
      page = await client.beta.threads.messages.list(threadId, { limit: 30, order, before: page.data[0]!.id })
      pages.unshift(page.data.map((m) => m.id))
      if (!page.has_more) break
    }
    // 250 = 30 × 8 + 10: eight full pages, then the ten items at the start with has_more false.
    expect(pages).toHaveLength(9)
    expect(pages[0]).toHaveLength(10)
    expect(pages.flat()).toEqual(inListOrder)
  })

  it('after + before together: the window between them, the page nearest before, has_more for what is left', async () => {
    const between = await client.beta.threads.messages.list(threadId, { order: 'asc', after: created[9]!, before: created[20]! })
    expect(between.data.map((m) => m.id)).toEqual(created.slice(10, 20))
    expect(between.has_more).toBe(false)
    const cut = await client.beta.threads.messages.list(threadId, { order: 'asc', limit: 4, after: created[9]!, before: created[20]! })
    expect(cut.data.map((m) => m.id)).toEqual(created.slice(16, 20))
    expect(cut.has_more).toBe(true)
    // The SDK's auto-pagination (after = last id, `before` kept) stops at the cursor: nothing repeats.
    const auto = await collect(client.beta.threads.messages.list(threadId, { order: 'asc', limit: 4, before: created[20]! }))
    expect(auto.map((m) => m.id)).toEqual(created.slice(16, 20))
  })

  it('gathers every message with the seed’s `after` loop (limit 100 until a page comes back empty)', async () => {
    // The seed (Python):
    //   while True:
    //       response = client.beta.threads.messages.list(thread_id, limit=limit, after=after)
    //       messages = response.data
    //       if not messages: break
    //       all_messages.extend(messages); after = messages[-1].id
    const all: OpenAI.Beta.Threads.Message[] = []
    let after: string | undefined
    let requests = 0
    let lastHasMore = true
    for (;;) {
      const response = await client.beta.threads.messages.list(threadId, { limit: 100, ...(after ? { after } : {}) })
      requests++
      const messages = response.data
      if (messages.length === 0) break
      lastHasMore = response.has_more
      all.push(...messages)
      after = messages.at(-1)!.id
    }
    expect(all).toHaveLength(TOTAL)
    expect(all.map((m) => m.id)).toEqual([...created].reverse())
    // 100 + 100 + 50, then the empty page that ends the seed's loop; the third page says no more.
    expect(requests).toBe(4)
    expect(lastHasMore).toBe(false)
  })
})

describe('assistants list pagination', () => {
  it('pages through a project’s assistants in both orders', async () => {
    const ids: string[] = []
    for (let i = 0; i < 45; i++) ids.push((await client.beta.assistants.create({ model: 'gpt-4o-mini', name: `assistant ${i}` })).id)
    const asc = await collect(client.beta.assistants.list({ limit: 10, order: 'asc' }))
    expect(asc.map((a) => a.id)).toEqual(ids)
    const desc = await collect(client.beta.assistants.list({ limit: 7 }))
    expect(desc.map((a) => a.id)).toEqual([...ids].reverse())

    const first = await client.beta.assistants.list({ limit: 10, order: 'asc' })
    expect(first.data.map((a) => a.id)).toEqual(ids.slice(0, 10))
    expect(first.has_more).toBe(true)
    const second = await first.getNextPage()
    expect(second.data.map((a) => a.id)).toEqual(ids.slice(10, 20))

    // `before` is the previous page on every list, assistants included.
    const previous = await client.beta.assistants.list({ limit: 10, order: 'asc', before: ids[20]! })
    expect(previous.data.map((a) => a.id)).toEqual(ids.slice(10, 20))
    expect(previous.has_more).toBe(true)
    const newest = await client.beta.assistants.list({ limit: 10, before: ids[40]! })
    expect(newest.data.map((a) => a.id)).toEqual(ids.slice(41).reverse())
    expect(newest.has_more).toBe(false)
  })
})
