/**
 * Path ids that no object can have. Ids go into Redis keys as they are, so a crafted one could
 * name another key of the same thread: `runs/run_x:steps` is the run's steps index (a sorted set),
 * which Redis refused to read as the run's hash (WRONGTYPE), a 500 for every run route. Every id
 * handed out is letters, digits, `_` and `-`; anything else is the object's 404, before Redis.
 */
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack } from './runs-support.js'
import { apiError } from './support.js'

let stack: RunStack
let run: OpenAI.Beta.Threads.Run

beforeAll(async () => {
  stack = await startRunStack()
  const assistant = await stack.assistant()
  const thread = await stack.client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
  // A finished run has its steps and messages indexes: `…:run:<id>:steps`, `…:run:<id>:messages`.
  run = await stack.client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 50 })
}, 120_000)
afterAll(() => stack?.close())

describe('ids that name no object', () => {
  it("a run id ending in ':steps' or ':messages' is the run's 404 on every run route, not a 500", async () => {
    const { client } = stack
    const thread_id = run.thread_id
    for (const id of [`${run.id}:steps`, `${run.id}:messages`]) {
      const calls = [
        () => client.beta.threads.runs.retrieve(id, { thread_id }),
        () => client.beta.threads.runs.update(id, { thread_id, metadata: { a: 'b' } }),
        () => client.beta.threads.runs.cancel(id, { thread_id }),
        () => client.beta.threads.runs.steps.list(id, { thread_id }),
        () => client.beta.threads.runs.submitToolOutputs(id, { thread_id, tool_outputs: [] }),
      ]
      for (const call of calls) {
        const err = await apiError(call)
        expect(err).toBeInstanceOf(OpenAI.NotFoundError)
        expect(err.error).toEqual({ message: `No run found with id '${id}'.`, type: 'invalid_request_error', param: null, code: null })
      }
    }
    // Nothing was touched: the run and its steps read as before.
    expect(await client.beta.threads.runs.retrieve(run.id, { thread_id })).toEqual(run)
    expect((await client.beta.threads.runs.steps.list(run.id, { thread_id })).data).toHaveLength(1)
  })

  it('percent-encoded, as the SDK sends it, and for thread, message, step and webhook endpoint ids too', async () => {
    const { api } = stack
    const auth = { authorization: `Bearer ${api.apiKey}` }
    const t = run.thread_id
    for (const [path, kind, id] of [
      [`/threads/${t}/runs/${run.id}%3Asteps`, 'run', `${run.id}:steps`],
      [`/threads/${t}%3Amessages`, 'thread', `${t}:messages`],
      [`/threads/${t}/messages/msg_x%3Ay`, 'message', 'msg_x:y'],
      [`/threads/${t}/runs/${run.id}/steps/step_x%7By%7D`, 'run step', 'step_x{y}'],
      ['/webhook_endpoints/callback%3Adeliveries', 'webhook endpoint', 'callback:deliveries'],
    ] as const) {
      const res = await fetch(`${api.baseURL}${path}`, { headers: auth })
      expect(res.status, path).toBe(404)
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`No ${kind} found with id '${id}'.`)
    }
  })

  it("a vector store id ending in ':files' in tool_resources is OpenAI's 400 vector_store_not_found, not a 500", async () => {
    const { client } = stack
    const file = await client.files.create({ file: await toFile(Buffer.from('pump pressure is 40 bar'), 'pump.txt'), purpose: 'assistants' })
    // A store with a file has its files index: `…:vs:<id>:files`, a sorted set.
    const store = await client.vectorStores.create({ name: 'manuals', file_ids: [file.id] })
    const id = `${store.id}:files`
    for (const [call, param] of [
      [() => client.beta.assistants.create({ model: 'fake-model', tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_store_ids: [id] } } }), 'tool_resources'],
      [() => client.beta.threads.create({ tool_resources: { file_search: { vector_store_ids: [id] } } }), 'tool_resources'],
    ] as const) {
      const err = await apiError(call)
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toEqual({
        message: `No vector store found with id '${id}'.`,
        type: 'invalid_request_error',
        param: `${param}.file_search.vector_store_ids[0]`,
        code: 'vector_store_not_found',
      })
    }
    expect((await client.vectorStores.retrieve(store.id)).id).toBe(store.id)
  })
})
