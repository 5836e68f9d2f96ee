/**
 * Issue 12 item 9: with a catch-all provider, an unknown model name is refused when the assistant
 * or run is created — OpenAI's 400 `model_not_found` — not accepted and failed at run time. The
 * serving provider's model list decides (cached); a provider whose list is unavailable, or a route
 * marked `anyModel`, accepts any name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeUpstream } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack } from './runs-support.js'
import { apiError } from './support.js'

let stack: RunStack
let client: OpenAI
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'threadwork-models-'))
  // The fake upstream (the catch-all default provider) lists fake-model and gpt-4o-mini.
  const upstream = await startFakeUpstream()
  const routes = [
    { name: 'gateway', match: 'gateway-*', baseURL: upstream.baseURL, anyModel: true },
    { name: 'unlisted', match: 'offline-*', baseURL: 'http://127.0.0.1:1/v1' },
  ]
  await writeFile(join(dir, 'providers.json'), JSON.stringify(routes))
  stack = await startRunStack({ upstream, api: { providerRoutes: routes }, worker: { PROVIDERS_FILE: join(dir, 'providers.json') } })
  client = stack.client
})
afterAll(async () => {
  await stack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const modelNotFound = (err: InstanceType<typeof OpenAI.APIError>, param = 'model') => {
  expect(err).toBeInstanceOf(OpenAI.BadRequestError)
  expect(err.error).toEqual({ message: "The requested model 'no-such-model' does not exist.", type: 'invalid_request_error', param, code: 'model_not_found' })
}

describe('unknown model names are refused at create time', () => {
  it('POST /v1/assistants {"model":"no-such-model"} → 400 model_not_found, nothing stored', async () => {
    const before = (await client.beta.assistants.list()).data.length
    modelNotFound(await apiError(() => client.beta.assistants.create({ model: 'no-such-model' })))
    expect((await client.beta.assistants.list()).data).toHaveLength(before)
  })

  it('modifying an assistant to an unknown model → 400, the assistant unchanged', async () => {
    const assistant = await stack.assistant({ model: 'gpt-4o-mini' })
    modelNotFound(await apiError(() => client.beta.assistants.update(assistant.id, { model: 'no-such-model' })))
    expect((await client.beta.assistants.retrieve(assistant.id)).model).toBe('gpt-4o-mini')
  })

  it('a run, a thread-and-run and a turn naming an unknown model → 400, nothing queued', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    modelNotFound(await apiError(() => client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, model: 'no-such-model' })))
    modelNotFound(await apiError(() => client.beta.threads.createAndRun({ assistant_id: assistant.id, model: 'no-such-model' })))
    expect((await client.beta.threads.runs.list(thread.id)).data).toHaveLength(0)
    const turn = await fetch(`${stack.api.baseURL}/threads/${thread.id}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: 'hi', run: { model: 'no-such-model' } }),
    })
    expect(turn.status).toBe(400)
    expect(((await turn.json()) as { error: unknown }).error).toMatchObject({ param: 'run.model', code: 'model_not_found' })
    expect(stack.upstream.requests).toHaveLength(0)
  })

  it('a listed model is accepted, and its run reaches the model', async () => {
    const assistant = await stack.assistant({ model: 'gpt-4o-mini' })
    const run = await client.beta.threads.createAndRunPoll({ assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'hi' }] } }, { pollIntervalMs: 50 })
    expect(run).toMatchObject({ status: 'completed', model: 'gpt-4o-mini' })
  })
})

describe('names that cannot be checked are accepted', () => {
  it('a route marked anyModel serves any name, its runs included', async () => {
    const assistant = await stack.assistant({ model: 'gateway-loaded-on-demand' })
    const run = await client.beta.threads.createAndRunPoll({ assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'hi' }] } }, { pollIntervalMs: 50 })
    expect(run).toMatchObject({ status: 'completed', model: 'gateway-loaded-on-demand' })
    expect(stack.upstream.requests.find((r) => r.runId === run.id)?.body.model).toBe('gateway-loaded-on-demand')
  })

  it('a provider whose model list is unavailable accepts the name (its runs fail or succeed at run time)', async () => {
    const assistant = await client.beta.assistants.create({ model: 'offline-model' })
    expect(assistant.model).toBe('offline-model')
  })
})
