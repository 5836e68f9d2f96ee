import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let upstream: FakeUpstream
let api: ApiServer
let worker: ServiceProcess
let client: OpenAI

// biome-ignore lint/suspicious/noExplicitAny: turn bodies are asserted field by field
type Json = any
const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api.baseURL}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Json }
}
const get = async (path: string) => (await (await fetch(`${api.baseURL}${path}`, { headers: { authorization: `Bearer ${api.apiKey}` } })).json()) as Json

beforeAll(async () => {
  upstream = await startFakeUpstream()
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL })
  worker = await startServiceProcess('worker', { REDIS_PREFIX: api.prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x', WORKER_LOCK_MS: '4000' })
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
})
afterAll(async () => {
  worker?.kill('SIGKILL')
  await api?.close()
  await upstream?.close()
})

describe('turns', () => {
  it('runs five back-to-back turns on one thread in order, each seeing the earlier answers', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create()
    const turns: Json[] = []
    for (let i = 1; i <= 5; i++) {
      const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: `question ${i}` })
      expect(res.status).toBe(202)
      expect(res.body).toMatchObject({ object: 'thread.turn', status: 'queued', thread_id: thread.id })
      expect(res.body.id).toMatch(/^turn_/)
      turns.push(res.body)
    }
    await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${turns[4].id}`)).status, { timeout: 30_000 }).toBe('completed')
    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant'])
    for (let i = 0; i < 5; i++) {
      const answer = messages.data[i * 2 + 1]!
      expect(answer.content[0]).toMatchObject({ text: { value: `Echo: question ${i + 1} [context: ${i * 2 + 1} messages]` } })
      expect(answer.run_id).toBe(turns[i].run_id)
      expect(messages.data[i * 2]!.id).toBe(turns[i].message_id)
    }
    expect(upstream.overlaps).toEqual([])
    const list = await get(`/threads/${thread.id}/turns?order=asc&limit=2`)
    expect(list).toMatchObject({ object: 'list', has_more: true })
    expect(list.data.map((t: Json) => t.id)).toEqual([turns[0].id, turns[1].id])
  })

  it('accepts a turn while a run is active and runs it after the run', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'first' }] })
    upstream.respondOnce({ kind: 'text', text: 'slow answer', firstTokenDelayMs: 500 })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const turn = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'second' })
    expect(turn.status).toBe(202)
    await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${turn.body.id}`)).status, { timeout: 30_000 }).toBe('completed')
    expect((await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).status).toBe('completed')
    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(messages.data.map((m) => (m.content[0] as Json).text.value)).toEqual(['first', 'slow answer', 'second', 'Echo: second [context: 3 messages]'])
  })

  it('POST /v1/turns creates the thread; Idempotency-Key returns the original turn', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const headers = { 'idempotency-key': `k-${Date.now()}` }
    const body = { assistant_id: assistant.id, content: 'hello', metadata: { user: 'u1' }, thread: { metadata: { source: 'test' } } }
    const [a, b] = await Promise.all([post('/turns', body, headers), post('/turns', body, headers)])
    expect(a.status).toBe(202)
    expect(b.status).toBe(202)
    expect(b.body.id).toBe(a.body.id)
    expect(b.body.thread_id).toBe(a.body.thread_id)
    const again = await post('/turns', body, headers)
    expect(again.body.id).toBe(a.body.id)
    const reused = await post('/turns', { ...body, content: 'different' }, headers)
    expect(reused.status).toBe(400)
    const thread = await client.beta.threads.retrieve(a.body.thread_id)
    expect(thread.metadata).toEqual({ source: 'test' })
    await expect.poll(async () => (await get(`/threads/${a.body.thread_id}/turns/${a.body.id}`)).status, { timeout: 30_000 }).toBe('completed')
    const list = await get(`/threads/${a.body.thread_id}/turns`)
    expect(list.data).toHaveLength(1)
  })

  it('cancels a queued turn (dequeued) and a started one (its run cancelled)', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create()
    upstream.respondOnce({ kind: 'hang' })
    const first = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'hangs' })
    const second = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'never runs' })
    const third = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'runs after' })
    await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${first.body.id}`)).status, { timeout: 30_000 }).toBe('in_progress')
    // The one-shot `hang` must be consumed by the first turn's request before it is cancelled.
    await expect.poll(() => upstream.requests.some((r) => r.runId === first.body.run_id), { timeout: 30_000 }).toBe(true)
    const cancelledQueued = await post(`/threads/${thread.id}/turns/${second.body.id}/cancel`, {})
    expect(cancelledQueued.body.status).toBe('cancelled')
    await post(`/threads/${thread.id}/turns/${first.body.id}/cancel`, {})
    await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${first.body.id}`)).status, { timeout: 30_000 }).toBe('cancelled')
    await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${third.body.id}`)).status, { timeout: 30_000 }).toBe('completed')
    const run = await client.beta.threads.runs.retrieve(first.body.run_id, { thread_id: thread.id })
    expect(run.status).toBe('cancelled')
    expect((await get(`/threads/${thread.id}/turns/${second.body.id}`)).status).toBe('cancelled')
    const texts = (await client.beta.threads.messages.list(thread.id, { order: 'asc' })).data.map((m) => (m.content[0] as Json).text.value)
    expect(texts).not.toContain('never runs')
    expect(texts.at(-1)).toBe('Echo: runs after [context: 2 messages]')
  })

  it('a turn started with its claim (assistant read before) runs with the assistant as it is now, and cancels', async () => {
    // The worker claims and starts a woken turn in one step when it has read its assistant before,
    // checking in that step that what the run is made of is unchanged (issue 14).
    const assistant = await client.beta.assistants.create({ model: 'fake-model', instructions: 'first instructions' })
    const turnOn = async (content: string) => {
      const thread = await client.beta.threads.create()
      const res = await post(`/threads/${thread.id}/turns`, { assistant_id: assistant.id, content })
      expect(res.status).toBe(202)
      return { thread, turn: res.body }
    }
    const completedRun = async (content: string) => {
      const { thread, turn } = await turnOn(content)
      await expect.poll(async () => (await get(`/threads/${thread.id}/turns/${turn.id}`)).status, { timeout: 30_000 }).toBe('completed')
      const system = upstream.requests.find((r) => r.runId === turn.run_id)?.body.messages[0]
      return { run: await client.beta.threads.runs.retrieve(turn.run_id, { thread_id: thread.id }), system }
    }
    await completedRun('read here')
    expect((await completedRun('cached')).run.instructions).toBe('first instructions')
    await client.beta.assistants.update(assistant.id, { instructions: 'second instructions' })
    const updated = await completedRun('after the update')
    expect(updated.run.instructions).toBe('second instructions')
    expect(updated.system).toMatchObject({ role: 'system', content: 'second instructions' })
    expect((await completedRun('cached again')).run.instructions).toBe('second instructions')

    upstream.respondOnce({ kind: 'hang' })
    const hanging = await turnOn('hangs')
    await expect.poll(() => upstream.requests.some((r) => r.runId === hanging.turn.run_id), { timeout: 30_000 }).toBe(true)
    await post(`/threads/${hanging.thread.id}/turns/${hanging.turn.id}/cancel`, {})
    await expect.poll(async () => (await get(`/threads/${hanging.thread.id}/turns/${hanging.turn.id}`)).status, { timeout: 30_000 }).toBe('cancelled')
    expect(upstream.overlaps).toEqual([])
  })

  it('refuses bad turns with OpenAI error bodies and stores nothing', async () => {
    const thread = await client.beta.threads.create()
    const missing = await post(`/threads/${thread.id}/turns`, { assistant_id: 'asst_nope', content: 'x' })
    expect(missing.status).toBe(404)
    const bad = await post(`/threads/${thread.id}/turns`, { content: 'x' })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ param: 'assistant_id', code: 'missing_required_parameter' })
    const badUrl = await post(`/threads/${thread.id}/turns`, { assistant_id: 'asst_x', content: 'x', callback_url: 'ftp://x' })
    expect(badUrl.status).toBe(400)
    expect((await get(`/threads/${thread.id}/turns`)).data).toEqual([])
  })
})
