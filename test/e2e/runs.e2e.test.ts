import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let upstream: FakeUpstream
let api: ApiServer
let worker: ServiceProcess
let client: OpenAI

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

describe('runs', () => {
  it('createAndPoll completes with the assistant reply, steps and usage', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model', instructions: 'Be brief.' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hello there' }] })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id })
    expect(run.status).toBe('completed')
    expect(run.usage?.total_tokens).toBeGreaterThan(0)
    expect(run.started_at).not.toBeNull()
    expect(run.completed_at).not.toBeNull()
    const messages = await client.beta.threads.messages.list(thread.id)
    const reply = messages.data[0]!
    expect(reply).toMatchObject({ role: 'assistant', assistant_id: assistant.id, run_id: run.id, status: 'completed' })
    expect(reply.content[0]).toMatchObject({ type: 'text', text: { value: 'Echo: hello there [context: 1 messages]' } })
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })
    expect(steps.data).toHaveLength(1)
    expect(steps.data[0]).toMatchObject({ type: 'message_creation', status: 'completed', step_details: { message_creation: { message_id: reply.id } } })
    const byRun = await client.beta.threads.messages.list(thread.id, { run_id: run.id })
    expect(byRun.data.map((m) => m.id)).toEqual([reply.id])
    expect(upstream.requests.at(-1)?.body.messages[0]).toMatchObject({ role: 'system', content: 'Be brief.' })
  })

  it('createAndRunPoll creates the thread and answers', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const run = await client.beta.threads.createAndRunPoll({ assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'ping' }] } })
    expect(run.status).toBe('completed')
    const messages = await client.beta.threads.messages.list(run.thread_id)
    expect(messages.data.map((m) => m.role)).toEqual(['assistant', 'user'])
  })

  it('locks the thread while a run is active, and exactly one of two concurrent creates wins', async () => {
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'slow one' }] })
    upstream.respondOnce({ kind: 'text', text: 'slow reply', firstTokenDelayMs: 3000 }) // active through the checks below, even on a loaded machine
    const results = await Promise.allSettled([
      client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }),
      client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    const runId = (won[0] as PromiseFulfilledResult<OpenAI.Beta.Threads.Run>).value.id
    expect(lost[0]!.reason).toBeInstanceOf(OpenAI.BadRequestError)
    expect(lost[0]!.reason.message).toContain(`Thread ${thread.id} already has an active run ${runId}.`)
    const add = client.beta.threads.messages.create(thread.id, { role: 'user', content: 'more' })
    await expect(add).rejects.toThrow(`Can't add messages to ${thread.id} while a run ${runId} is active.`)
    const done = await client.beta.threads.runs.poll(runId, { thread_id: thread.id })
    expect(done.status).toBe('completed')
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'now it works' })
  })
})
