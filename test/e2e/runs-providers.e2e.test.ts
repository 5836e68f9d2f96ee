/**
 * Provider routing (PROVIDERS_FILE): a run reaches the upstream its model is routed to, and a model
 * no provider serves is refused when the run is created, before anything is queued.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FakeUpstream, startFakeUpstream } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let deepseek: FakeUpstream
let dir: string

beforeAll(async () => {
  deepseek = await startFakeUpstream({ models: ['deepseek-chat'] })
  const upstream = await startFakeUpstream()
  // No default provider: only these routes serve models, in both the API and the worker.
  const routes = [
    { name: 'deepseek', match: 'deepseek-*', baseURL: deepseek.baseURL, apiKey: 'sk-deepseek' },
    { name: 'fake', match: 'fake-*', baseURL: upstream.baseURL },
  ]
  dir = await mkdtemp(join(tmpdir(), 'threadwork-providers-'))
  await writeFile(join(dir, 'providers.json'), JSON.stringify({ routes }))
  stack = await startRunStack({
    upstream,
    api: { upstreamBaseURL: undefined, providerRoutes: routes },
    worker: { UPSTREAM_BASE_URL: '', PROVIDERS_FILE: join(dir, 'providers.json') },
  })
  client = stack.client
})
afterAll(async () => {
  await stack?.close()
  await deepseek?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('provider routing', () => {
  it('a run with model deepseek-chat reaches the deepseek upstream, with its key', async () => {
    const assistant = await client.beta.assistants.create({ model: 'deepseek-chat' })
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'routed?' }] } },
      { pollIntervalMs: 50 },
    )
    expect(run.status).toBe('completed')
    expect(deepseek.requests).toHaveLength(1)
    expect(deepseek.requests[0]!.body.model).toBe('deepseek-chat')
    expect(deepseek.requests[0]!.headers.authorization).toBe('Bearer sk-deepseek')
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(0)
    const [reply] = (await client.beta.threads.messages.list(run.thread_id)).data
    expect(textOf(reply!)).toBe('Echo: routed? [context: 1 messages]')
  })

  it('a run-level model override is routed too', async () => {
    const assistant = await client.beta.assistants.create({ model: 'deepseek-chat' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'other route' }] })
    const before = deepseek.requests.length
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id, model: 'fake-model' }, { pollIntervalMs: 50 })
    expect(run).toMatchObject({ status: 'completed', model: 'fake-model' })
    expect(stack.upstream.requests.filter((r) => r.runId === run.id)).toHaveLength(1)
    expect(deepseek.requests).toHaveLength(before)
  })

  it('a model no provider serves → 400 at create time, param model, nothing queued', async () => {
    // Refused at assistant create too (issue 12 item 9)…
    const refused = await client.beta.assistants.create({ model: 'llama-unknown' }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect(refused).toMatchObject({ param: 'model', code: 'model_not_found' })
    // …so this assistant is one whose model stopped being served after it was created (stored directly).
    const assistant = await stack.api.stores.assistants.create('test', { model: 'llama-unknown' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'nobody serves this' }] })
    const err = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model')
    expect((err as Error).message).toContain('llama-unknown')
    const override = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, model: 'gpt-unknown' }).catch((e: unknown) => e)
    expect(override).toBeInstanceOf(OpenAI.BadRequestError)
    expect((override as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model')
    const viaThread = await client.beta.threads.createAndRun({ assistant_id: assistant.id }).catch((e: unknown) => e)
    expect(viaThread).toBeInstanceOf(OpenAI.BadRequestError)
    // Nothing was created: no run, and the thread takes messages.
    expect((await client.beta.threads.runs.list(thread.id)).data).toHaveLength(0)
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'still free' })
  })
})
