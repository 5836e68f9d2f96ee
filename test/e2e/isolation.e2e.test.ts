/**
 * Projects are walls: with another project's key, an object that exists answers exactly as one that
 * never existed (same status, class, body), so ids cannot be probed across projects.
 */
import { newId } from '@threadwork/domain'
import type { ApiServer } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, sdk, startStack } from './support.js'

let server: ApiServer
let alpha: OpenAI
let beta: OpenAI
let asst: OpenAI.Beta.Assistant
let thread: OpenAI.Beta.Thread
let message: OpenAI.Beta.Threads.Message
/** Beta's own thread, to aim at alpha's message through a thread beta does own. */
let betaThread: OpenAI.Beta.Thread

beforeAll(async () => {
  const started = await startStack({ apiKeys: new Map([['sk-alpha', 'alpha'], ['sk-beta', 'beta']]) })
  server = started.server
  alpha = started.client
  beta = sdk(server, 'sk-beta')
  asst = await alpha.beta.assistants.create({ model: 'gpt-4o', name: 'alpha only', metadata: { owner: 'alpha' } })
  thread = await alpha.beta.threads.create({ metadata: { owner: 'alpha' } })
  message = await alpha.beta.threads.messages.create(thread.id, { role: 'user', content: 'alpha secret', metadata: { owner: 'alpha' } })
  betaThread = await beta.beta.threads.create()
})
afterAll(() => server?.close())

/** The error's observable parts, with the probed id replaced so two ids can be compared. */
async function failure(fn: () => Promise<unknown>, id: string) {
  const err = await apiError(fn)
  return {
    class: err.constructor.name,
    status: err.status,
    body: JSON.parse(JSON.stringify(err.error).replaceAll(id, '<id>')),
  }
}

type Probe = [name: string, id: string, call: (client: OpenAI, id: string) => Promise<unknown>]

const probes = (): Probe[] => [
  ['assistants.retrieve', asst.id, (c, id) => c.beta.assistants.retrieve(id)],
  ['assistants.update', asst.id, (c, id) => c.beta.assistants.update(id, { name: 'pwned' })],
  ['assistants.delete', asst.id, (c, id) => c.beta.assistants.delete(id)],
  ['threads.retrieve', thread.id, (c, id) => c.beta.threads.retrieve(id)],
  ['threads.update', thread.id, (c, id) => c.beta.threads.update(id, { metadata: { owner: 'beta' } })],
  ['threads.delete', thread.id, (c, id) => c.beta.threads.delete(id)],
  ['messages.create', thread.id, (c, id) => c.beta.threads.messages.create(id, { role: 'user', content: 'injected' })],
  ['messages.list', thread.id, (c, id) => c.beta.threads.messages.list(id)],
  ['messages.retrieve', message.id, (c, id) => c.beta.threads.messages.retrieve(id, { thread_id: thread.id })],
  ['messages.update', message.id, (c, id) => c.beta.threads.messages.update(id, { thread_id: thread.id, metadata: { owner: 'beta' } })],
  ['messages.delete', message.id, (c, id) => c.beta.threads.messages.delete(id, { thread_id: thread.id })],
  // Alpha's message id through a thread beta owns.
  ['messages.retrieve via own thread', message.id, (c, id) => c.beta.threads.messages.retrieve(id, { thread_id: betaThread.id })],
  ['messages.update via own thread', message.id, (c, id) => c.beta.threads.messages.update(id, { thread_id: betaThread.id, metadata: {} })],
  ['messages.delete via own thread', message.id, (c, id) => c.beta.threads.messages.delete(id, { thread_id: betaThread.id })],
]

describe('cross-project access', () => {
  it("answers every call on another project's object as if it did not exist", async () => {
    for (const [name, id, call] of probes()) {
      const prefix = id.slice(0, id.indexOf('_')) as 'asst' | 'thread' | 'msg'
      const missingId = newId(prefix)
      // A never-created id of the same kind, in the same position of the same call.
      const foreign = await failure(() => call(beta, id), id)
      const missing = await failure(() => call(beta, missingId), missingId)
      expect(foreign, name).toEqual(missing)
      expect(foreign.status, name).toBe(404)
      expect(foreign.class, name).toBe('NotFoundError')
      expect(foreign.body, name).toEqual({ message: expect.stringMatching(/^No (assistant|thread|message) found with id '<id>'\.$/), type: 'invalid_request_error', param: null, code: null })
    }
  })

  it("leaves the other project's objects untouched", async () => {
    expect(await alpha.beta.assistants.retrieve(asst.id)).toEqual(asst)
    expect(await alpha.beta.threads.retrieve(thread.id)).toEqual(thread)
    const messages = await alpha.beta.threads.messages.list(thread.id)
    expect(messages.data).toEqual([message])
  })

  it('never lists another project’s assistants', async () => {
    const betaAsst = await beta.beta.assistants.create({ model: 'gpt-4o', name: 'beta only' })
    const betaList = (await beta.beta.assistants.list({ limit: 100 })).data.map((a) => a.id)
    const alphaList = (await alpha.beta.assistants.list({ limit: 100 })).data.map((a) => a.id)
    expect(betaList).toEqual([betaAsst.id])
    expect(alphaList).toEqual([asst.id])
  })

  it("does not accept another project's id as a list cursor", async () => {
    const foreign = await failure(() => beta.beta.assistants.list({ after: asst.id }), asst.id)
    const missingId = newId('asst')
    const missing = await failure(() => beta.beta.assistants.list({ after: missingId }), missingId)
    expect(foreign).toEqual(missing)
    expect(foreign.status).toBe(400)
    // Same for a message cursor on beta's own thread.
    const foreignMsg = await failure(() => beta.beta.threads.messages.list(betaThread.id, { before: message.id }), message.id)
    const missingMsgId = newId('msg')
    expect(foreignMsg).toEqual(await failure(() => beta.beta.threads.messages.list(betaThread.id, { before: missingMsgId }), missingMsgId))
  })
})
