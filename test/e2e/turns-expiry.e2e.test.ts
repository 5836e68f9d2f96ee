/**
 * A turn's run is kept out of the shard's deadlines set while a worker drives it (30913bd): its
 * expiry then rests on the driving worker's timer, or on the worker that takes the thread over.
 * Here the driver is SIGKILLed mid-call and no worker is alive until well past `expires_at` (and
 * the sweep's grace): the run must still end `expired` once one is, and the thread move on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack } from './runs-support.js'

const EXPIRES_AFTER = 3

let stack: RunStack

// biome-ignore lint/suspicious/noExplicitAny: turn bodies are asserted field by field
type Json = any
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${stack.api.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.api.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as Json
}

beforeAll(async () => {
  stack = await startRunStack({
    workers: 0,
    api: { runExpiresAfterSeconds: EXPIRES_AFTER },
    worker: { RUN_EXPIRES_AFTER_SECONDS: String(EXPIRES_AFTER), RECONCILE_EVERY_MS: '500' },
  })
})
afterAll(() => stack?.close())

describe('a turn whose worker dies mid-call', () => {
  it('ends expired once a worker is back after expires_at, with no reply stored, and the next turn of the thread runs', async () => {
    const assistant = await stack.assistant()
    const thread = await stack.client.beta.threads.create()
    const a = await stack.startWorker()
    stack.upstream.respondOnce({ kind: 'hang' })
    const first = await call('POST', `/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'never answered' })
    await stack.upstream.waitForRequests(1)
    const second = await call('POST', `/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'after it' })
    a.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')
    const run = await call('GET', `/threads/${thread.id}/runs/${first.run_id}`)
    expect(run.expires_at).toBeGreaterThan(0)
    // Past expires_at and the backstop's grace before any worker lives again (not polling the run
    // meanwhile: a read would end it by itself).
    await new Promise((r) => setTimeout(r, Math.max(0, run.expires_at * 1000 + 3_000 - Date.now())))
    await stack.startWorker()

    await expect.poll(async () => (await call('GET', `/threads/${thread.id}/turns/${second.id}`)).status, { timeout: 30_000 }).toBe('completed')
    expect(await call('GET', `/threads/${thread.id}/runs/${first.run_id}`)).toMatchObject({ status: 'expired', last_error: null })
    expect((await call('GET', `/threads/${thread.id}/turns/${first.id}`)).status).toBe('expired')
    const messages = await stack.client.beta.threads.messages.list(thread.id, { order: 'asc' })
    // The expired turn stored no reply; the next one answered once.
    expect(messages.data.map((m) => m.role)).toEqual(['user', 'user', 'assistant'])
    expect(messages.data[2]!.run_id).toBe(second.run_id)
    expect(stack.upstream.overlaps).toEqual([])
  }, 90_000)
})

describe('a turn whose run expires waiting for tool outputs', () => {
  it('reads expired once past expires_at, as its run does, with no worker alive to sweep it', async () => {
    const assistant = await stack.assistant({ tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] })
    const thread = await stack.client.beta.threads.create()
    const worker = await stack.startWorker()
    stack.upstream.respondOnce({ kind: 'tool_calls', calls: [{ name: 'lookup', arguments: '{}' }] })
    const turn = await call('POST', `/threads/${thread.id}/turns`, { assistant_id: assistant.id, content: 'look it up' })
    await expect.poll(async () => (await call('GET', `/threads/${thread.id}/turns/${turn.id}`)).status, { timeout: 15_000 }).toBe('requires_action')
    const started = await call('GET', `/threads/${thread.id}/turns/${turn.id}`)
    // Nobody sweeps deadlines now (the reconciler lives in the workers): only a read can end it.
    worker.kill('SIGKILL')
    expect(await worker.exited).toBe('SIGKILL')
    // Its run was created when the turn started, expiring EXPIRES_AFTER seconds later (whole seconds: one more to be past it).
    await new Promise((r) => setTimeout(r, Math.max(0, (started.started_at + EXPIRES_AFTER + 1) * 1000 - Date.now())))

    // The turn is read first, without its run (a run read ends the run by itself): it must not say requires_action.
    expect((await call('GET', `/threads/${thread.id}/turns/${turn.id}`)).status).toBe('expired')
    expect((await call('GET', `/threads/${thread.id}/turns`)).data.map((t: Json) => t.status)).toEqual(['expired'])
    expect(await call('GET', `/threads/${thread.id}/runs/${turn.run_id}`)).toMatchObject({ status: 'expired' })
  }, 60_000)
})

