/**
 * Expiry (`RUN_EXPIRES_AFTER_SECONDS`, OpenAI: 600 s): a run still going at `expires_at` ends
 * `expired` whether a worker is driving it or no worker is alive at all; and what a client can do
 * with a run nobody has picked up yet.
 */
import { type ApiServer, startApiServer } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf } from './runs-support.js'

const EXPIRES_AFTER = 2

let stack: RunStack
let client: OpenAI

beforeAll(async () => {
  stack = await startRunStack({ api: { runExpiresAfterSeconds: EXPIRES_AFTER }, worker: { RUN_EXPIRES_AFTER_SECONDS: String(EXPIRES_AFTER) } })
  client = stack.client
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

describe('with a worker driving the run', () => {
  it('a hanging upstream → expired at expires_at; the request is aborted and the thread released', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'never answered' }] })
    stack.upstream.respondOnce({ kind: 'hang' })
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    expect(created.expires_at).toBe(created.created_at + EXPIRES_AFTER)
    const [request] = await stack.upstream.waitForRequests(1)
    const run = await settled(client, created, 10_000)
    expect(run.status).toBe('expired')
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(created.expires_at!)
    expect(run).toMatchObject({ completed_at: null, failed_at: null, cancelled_at: null, last_error: null })
    await expect.poll(() => request!.aborted).toBe(true)
    expect(stack.upstream.requests).toHaveLength(1)
    expect((await client.beta.threads.messages.list(thread.id)).data.map((m) => m.role)).toEqual(['user'])
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'after expiry' })
  })

  it('expired mid-reply: the streamed text is kept as an incomplete message (run_expired)', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'talk' }] })
    stack.upstream.respondOnce({ kind: 'hang', afterChunks: 2, text: 'alpha beta gamma delta' })
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const run = await settled(client, created, 10_000)
    expect(run.status).toBe('expired')
    const replies = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'run_expired' } })
    expect(textOf(replies[0]!)).toBe('alpha beta ')
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data
    expect(step).toMatchObject({ status: 'expired', expired_at: expect.any(Number) })
  })
})

describe('with no worker running', () => {
  let idle: ApiServer
  let idleClient: OpenAI
  beforeAll(async () => {
    // Same upstream, its own key prefix, and no worker process on it.
    idle = await startApiServer({ upstreamBaseURL: stack.upstream.baseURL, runExpiresAfterSeconds: EXPIRES_AFTER })
    idleClient = new OpenAI({ baseURL: idle.baseURL, apiKey: idle.apiKey, maxRetries: 0 })
  })
  afterAll(() => idle?.close())

  it('a queued run reads expired once its deadline passes', async () => {
    const assistant = await idleClient.beta.assistants.create({ model: 'fake-model' })
    const thread = await idleClient.beta.threads.create({ messages: [{ role: 'user', content: 'anyone?' }] })
    const created = await idleClient.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    expect((await idleClient.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })).status).toBe('queued')
    const run = await settled(idleClient, created, 10_000)
    expect(run.status).toBe('expired')
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(created.expires_at!)
    // The list agrees, and the thread is free for a new message.
    const [listed] = (await idleClient.beta.threads.runs.list(thread.id)).data
    expect(listed).toMatchObject({ id: run.id, status: 'expired' })
    await idleClient.beta.threads.messages.create(thread.id, { role: 'user', content: 'hello again' })
    expect(stack.upstream.requests.filter((r) => r.threadId === thread.id)).toHaveLength(0)
  })

  it('an overdue run nobody read no longer locks its thread: a message or run is accepted', async () => {
    const assistant = await idleClient.beta.assistants.create({ model: 'fake-model' })
    const thread = await idleClient.beta.threads.create({ messages: [{ role: 'user', content: 'stuck?' }] })
    const created = await idleClient.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    await expect(idleClient.beta.threads.messages.create(thread.id, { role: 'user', content: 'too early' })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    // Wait out the deadline without reading the run (no lazy expiry on read can have happened).
    await expect.poll(() => Date.now() / 1000 >= created.expires_at!, { timeout: 30_000, interval: 100 }).toBe(true)
    const message = await idleClient.beta.threads.messages.create(thread.id, { role: 'user', content: 'after the deadline' })
    expect(message.role).toBe('user')
    expect((await idleClient.beta.threads.runs.retrieve(created.id, { thread_id: thread.id })).status).toBe('expired')
  })

  it('a queued run can be cancelled, which frees the thread at once', async () => {
    const assistant = await idleClient.beta.assistants.create({ model: 'fake-model' })
    const thread = await idleClient.beta.threads.create({ messages: [{ role: 'user', content: 'never mind' }] })
    const created = await idleClient.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const cancelled = await idleClient.beta.threads.runs.cancel(created.id, { thread_id: thread.id })
    expect(['cancelling', 'cancelled']).toContain(cancelled.status)
    const run = await settled(idleClient, created)
    expect(run).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(Number) })
    const next = await idleClient.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    expect(next.status).toBe('queued')
  })
})
