/**
 * Threadwork on a real Redis Cluster: three local masters (`redis-server --cluster-enabled yes`,
 * joined by `redis-cli --cluster create`), REDIS_SHARDS=8, the API on an ioredis `Cluster` and
 * worker processes with REDIS_CLUSTER_NODES. Every Lua script (ours and BullMQ's) must stay in
 * one slot, or Redis answers CROSSSLOT / "non local key": the resources, runs, turns and a worker
 * crash below go through all of them, and so do the webhook dispatcher's outbox reads and deliveries.
 */
import { type Server, createServer } from 'node:http'
import { createRedisClient, keys as keyLayout } from '@threadwork/storage'
import {
  type ApiServer,
  type FakeUpstream,
  type RedisCluster,
  type ServiceProcess,
  startApiServer,
  startFakeUpstream,
  startRedisCluster,
  startServiceProcess,
} from '@threadwork/test-utils'
import { Cluster, Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const SHARDS = 8
let cluster: RedisCluster
let upstream: FakeUpstream
let api: ApiServer
let client: OpenAI
const workers: ServiceProcess[] = []
let workerEnv: Record<string, string>
let webhooks: ServiceProcess
let receiver: Server
const received: { type: string; data: { thread_id?: string } }[] = []
let receiverUrl: string

// biome-ignore lint/suspicious/noExplicitAny: turn bodies are asserted field by field
type Json = any
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${api.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Json }
}

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  upstream = await startFakeUpstream()
  // As the API's main() does: its command connection coalesces its writes (storage coalesce-writes.ts).
  const redis = createRedisClient({ url: 'redis://127.0.0.1', clusterNodes: cluster.nodes }, { role: 'request', name: 'threadwork-test-api', coalesceWrites: true })
  api = await startApiServer({ redis, shards: SHARDS, upstreamBaseURL: upstream.baseURL })
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  workerEnv = {
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    REDIS_SHARDS: String(SHARDS),
    REDIS_PREFIX: api.prefix,
    UPSTREAM_BASE_URL: upstream.baseURL,
    UPSTREAM_API_KEY: 'x',
    WORKER_LOCK_MS: '2000',
  }
  workers.push(await startServiceProcess('worker', workerEnv))
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push(JSON.parse(body))
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
  webhooks = await startServiceProcess(
    'webhooks',
    { ...workerEnv, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32', WEBHOOK_POLL_MS: '200' },
    { readyMessage: 'webhook dispatcher ready' },
  )
}, 180_000)

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL')
  webhooks?.kill('SIGKILL')
  receiver?.close()
  await api?.close()
  await upstream?.close()
  await cluster?.cleanup()
})

describe('Redis Cluster (3 masters, REDIS_SHARDS=8)', () => {
  it('puts each shard queue in its shard slot, and the shards on more than one master', async () => {
    const k = keyLayout(api.prefix, SHARDS)
    const node = new Redis(Number(cluster.nodes[0]!.split(':')[1]), '127.0.0.1')
    try {
      const slotOf = async (key: string) => Number(await node.call('CLUSTER', 'KEYSLOT', key))
      const slots = new Set<number>()
      for (let s = 0; s < SHARDS; s++) {
        const shardSlot = await slotOf(k.pending(s))
        slots.add(shardSlot)
        // BullMQ builds `<prefix>:<queue>:<suffix>` inside its scripts: all in the shard's slot.
        for (const suffix of ['wait', 'active', 'meta', 'events', 'marker', 'de:thread_x', '42']) {
          expect(await slotOf(`${api.prefix}:${k.drainQueue(s)}:${suffix}`)).toBe(shardSlot)
          expect(await slotOf(`${api.prefix}:${k.webhookQueue(s)}:${suffix}`)).toBe(shardSlot)
        }
        expect(await slotOf(k.outbox(s))).toBe(shardSlot)
        // The wake-up stream and a wake key of a thread of this shard: one script touches both.
        expect(await slotOf(k.wakeups(s))).toBe(shardSlot)
      }
      const thread = Array.from({ length: 64 }, (_, i) => `thread_${i}`).find((t) => k.shardOf(t) === 3)!
      expect(await slotOf(k.wake(thread))).toBe(await slotOf(k.shardWakeups(thread)))
      const owners = new Set<string>()
      const ranges = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
      for (const slot of slots) owners.add(String(ranges.find(([from, to]) => slot >= from && slot <= to)![2][1]))
      expect(owners.size).toBeGreaterThan(1)
    } finally {
      node.disconnect()
    }
  })

  it('serves assistants, threads, messages and paginated lists', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model', name: 'on a cluster' })
    expect((await client.beta.assistants.retrieve(assistant.id)).name).toBe('on a cluster')
    await client.beta.assistants.update(assistant.id, { name: 'renamed' })
    const threads = await Promise.all(Array.from({ length: 6 }, (_, i) => client.beta.threads.create({ messages: [{ role: 'user', content: `first ${i}` }] })))
    for (const t of threads) {
      for (let i = 0; i < 3; i++) await client.beta.threads.messages.create(t.id, { role: 'user', content: `more ${i}` })
      const page = await client.beta.threads.messages.list(t.id, { limit: 2, order: 'asc' })
      expect(page.data).toHaveLength(2)
      const rest = await client.beta.threads.messages.list(t.id, { limit: 10, order: 'asc', after: page.data[1]!.id })
      expect(rest.data).toHaveLength(2)
    }
    const deleted = await client.beta.threads.delete(threads[5]!.id)
    expect(deleted.deleted).toBe(true)
    await expect(client.beta.threads.retrieve(threads[5]!.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await client.beta.assistants.list()).data.map((a) => a.id)).toContain(assistant.id)
  })

  it('completes runs on threads spread over every shard', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const shards = new Set<number>()
    const k = keyLayout(api.prefix, SHARDS)
    const runs = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: `hello ${i}` }] })
        shards.add(k.shardOf(thread.id))
        return client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 100 })
      }),
    )
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'completed'))
    expect(shards.size).toBeGreaterThan(3)
    const reply = await client.beta.threads.messages.list(runs[0]!.thread_id)
    expect(reply.data[0]!.content[0]).toMatchObject({ type: 'text', text: { value: expect.stringContaining('Echo: hello') } })
    const steps = await client.beta.threads.runs.steps.list(runs[0]!.id, { thread_id: runs[0]!.thread_id })
    expect(steps.data).toHaveLength(1)
  })

  it('runs queued turns in order', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create()
    const turns: Json[] = []
    for (let i = 1; i <= 3; i++) {
      const res = await call('POST', `/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: `question ${i}` })
      expect(res.status).toBe(202)
      turns.push(res.body)
    }
    await expect.poll(async () => (await call('GET', `/threads/${thread.id}/turns/${turns[2].id}`)).body.status, { timeout: 20_000 }).toBe('completed')
    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant'])
    expect(messages.data[5]!.content[0]).toMatchObject({ text: { value: 'Echo: question 3 [context: 5 messages]' } })
  })

  it('finishes a run after its worker is SIGKILLed mid-run (another worker takes over)', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'survive this' }] })
    upstream.respondOnce({ kind: 'hang' })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    await expect.poll(() => upstream.requests.some((r) => r.runId === run.id), { timeout: 30_000 }).toBe(true)
    const victim = workers.shift()!
    victim.kill('SIGKILL')
    await victim.exited
    workers.push(await startServiceProcess('worker', workerEnv))
    const done = await client.beta.threads.runs.poll(run.id, { thread_id: thread.id }, { pollIntervalMs: 200 })
    expect(done.status).toBe('completed')
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data.filter((m) => m.role === 'assistant')).toHaveLength(1)
  }, 180_000)

  it('delivers webhooks for runs on every shard', async () => {
    const endpoint = await call('POST', '/webhook_endpoints', { url: receiverUrl, name: 'cluster', event_types: ['thread.run.completed'] })
    expect(endpoint.status).toBe(200)
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const k = keyLayout(api.prefix, SHARDS)
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.beta.threads.createAndRunPoll(
          { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: `hook ${i}` }] } },
          { pollIntervalMs: 100 },
        ),
      ),
    )
    expect(new Set(runs.map((r) => k.shardOf(r.thread_id))).size).toBeGreaterThan(3)
    await expect
      .poll(() => runs.filter((r) => !received.some((e) => e.type === 'thread.run.completed' && e.data.thread_id === r.thread_id)).length, { timeout: 20_000 })
      .toBe(0)
  }, 180_000)

  it('uses a Cluster client in the API, and no process hit a cross-slot error', () => {
    expect(api.redis).toBeInstanceOf(Cluster)
    const output = [...workers.flatMap((w) => w.output), ...webhooks.output].join('\n')
    expect(output).not.toMatch(/CROSSSLOT|non local key|MOVED|wrong slot/i)
    expect(output).not.toMatch(/"level":50/)
  })
})
