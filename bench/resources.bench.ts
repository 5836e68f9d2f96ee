/**
 * Message create and list latency through the real HTTP API with the official SDK, on a fresh key
 * prefix, next to baselines measured in the same run (a bare Redis PING and a bare Hono route over
 * the same fetch), so figures from different machines can be compared by their ratios.
 *
 * The list goal: a page of 20 on a thread of 100,000 messages costs at most 1.5× a page on a thread
 * of 10 (listPage-2.lua is O(log n + limit)). Reported, never asserted.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { MessageCreateParams } from '@threadwork/domain'
import { buildMessages, messageArgs, runScript, scripts } from '@threadwork/storage'
import { type ApiServer, startApiServer, uniquePrefix } from '@threadwork/test-utils'
import { Hono } from 'hono'
import OpenAI from 'openai'
import { type Sample, measureInterleaved, printTable } from './lib.js'

const PROJECT = 'bench'
const API_KEY = 'sk-threadwork-bench'
const BIG_THREAD = 100_000
const SEED_CHUNK = 1_000
const N_CREATE = 2_000
const N_LIST = 1_000

export async function run(): Promise<void> {
  const server = await startApiServer({ apiKeys: new Map([[API_KEY, PROJECT]]), prefix: uniquePrefix('bench') })
  const hello = await startHelloServer()
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: API_KEY, maxRetries: 0 })
  try {
    const target = await client.beta.threads.create()
    let i = 0
    const [ping, helloRoute, create] = (await measureInterleaved(
      [
        ['baseline: redis PING', () => server.redis.ping()],
        ['baseline: Hono hello route (fetch)', () => fetch(hello.url).then((r) => r.text())],
        ['message create (SDK → API → Redis)', () => client.beta.threads.messages.create(target.id, { role: 'user', content: `benchmark message ${i++}` })],
      ],
      N_CREATE,
    )) as [Sample, Sample, Sample]

    const small = await client.beta.threads.create({ messages: Array.from({ length: 10 }, (_, i) => ({ role: 'user' as const, content: `message ${i}` })) })
    const seedStart = performance.now()
    const big = await seedThread(server, BIG_THREAD)
    const seedSeconds = (performance.now() - seedStart) / 1000
    const middle = (await server.redis.zrange(server.stores.keys.messages(big), BIG_THREAD / 2, BIG_THREAD / 2))[0]!
    // Interleaved, so the ratios survive a busy machine.
    const [list10, list100k, deep, sameItems] = (await measureInterleaved(
      [
        ['message list limit 20, thread of 10', () => client.beta.threads.messages.list(small.id, { limit: 20 })],
        ['message list limit 20, thread of 100,000', () => client.beta.threads.messages.list(big, { limit: 20 })],
        ['  … same, after = the 50,000th message', () => client.beta.threads.messages.list(big, { limit: 20, after: middle })],
        // The thread of 10 fills only half a page; this row returns the same 10 items from 100,000.
        ['  … same, limit 10 (10 items, as the thread of 10)', () => client.beta.threads.messages.list(big, { limit: 10 })],
      ],
      N_LIST,
    )) as [Sample, Sample, Sample, Sample]

    const ratio = (a: Sample, b: Sample, q: 'p50' | 'p99') => (a[q] / b[q]).toFixed(2)
    printTable('resources: messages through the HTTP API', [ping, helloRoute, create, list10, list100k, deep, sameItems], [
      '',
      `list 100,000 vs 10: p50 ×${ratio(list100k, list10, 'p50')}, p99 ×${ratio(list100k, list10, 'p99')} (goal ≤ 1.5)`,
      `  same 10 items returned: p50 ×${ratio(sameItems, list10, 'p50')}, p99 ×${ratio(sameItems, list10, 'p99')}`,
      `message create vs Hono hello: p50 ×${ratio(create, helloRoute, 'p50')}; vs redis PING: p50 ×${ratio(create, ping, 'p50')}`,
      `seeded ${BIG_THREAD.toLocaleString('en')} messages in ${seedSeconds.toFixed(1)} s (storage's appendMessages script, ${SEED_CHUNK} per call)`,
    ])
  } finally {
    await hello.close()
    // Deletes every key under the bench prefix, the 100,000 seeded messages included.
    await server.close()
  }
}

/**
 * A thread of `count` messages written through storage's own append script (not HTTP), so the
 * layout is exactly what the API writes; 8 calls in flight on one connection pipeline them.
 */
async function seedThread(server: ApiServer, count: number): Promise<string> {
  const { thread } = await server.stores.threads.create(PROJECT)
  const k = server.stores.keys
  const inFlight: Promise<unknown>[] = []
  for (let done = 0; done < count; done += SEED_CHUNK) {
    const params = Array.from({ length: Math.min(SEED_CHUNK, count - done) }, (_, i): MessageCreateParams => ({
      role: (done + i) % 2 ? 'assistant' : 'user',
      content: `seeded message ${done + i + 1}`,
    }))
    const messages = buildMessages(thread.id, params)
    inFlight.push(runScript(server.redis, scripts.appendMessages, [k.thread(thread.id), k.messages(thread.id)], [PROJECT, k.messagePrefix(thread.id), ...messageArgs(messages)]))
    if (inFlight.length >= 8) await Promise.all(inFlight.splice(0))
  }
  await Promise.all(inFlight)
  return thread.id
}

/** The cheapest possible Hono-on-Node request: what HTTP + routing cost before any of our code. */
async function startHelloServer(): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono().get('/', (c) => c.text('hello'))
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      }),
  }
}
