/**
 * Upstream faults seen by a run: each transient one is retried until the run completes with one
 * reply; a persistent one fails the run with OpenAI's `last_error` codes.
 */
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

const ATTEMPTS = 3
const TIMEOUT_MS = 1000

beforeAll(async () => {
  stack = await startRunStack({ worker: { UPSTREAM_MAX_ATTEMPTS: String(ATTEMPTS), UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) } })
  client = stack.client
  assistantId = (await stack.assistant()).id
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

/** Runs `content` on a new thread and waits for the run to end. */
async function runToEnd(content = 'hello') {
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content }] })
  const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId })
  const run = await settled(client, created)
  const messages = await client.beta.threads.messages.list(thread.id)
  return { run, thread, messages: messages.data }
}

/** A completed run with exactly one assistant reply: the echo of the successful attempt. */
function expectOneReply(result: Awaited<ReturnType<typeof runToEnd>>, content = 'hello') {
  expect(result.run.status).toBe('completed')
  expect(result.run.last_error).toBeNull()
  const replies = result.messages.filter((m) => m.role === 'assistant')
  expect(replies).toHaveLength(1)
  expect(textOf(replies[0]!)).toBe(`Echo: ${content} [context: 1 messages]`)
}

describe('transient upstream faults are retried', () => {
  it('429 with retry-after, then success → completed, after waiting as told', async () => {
    stack.upstream.respondOnce({ kind: 'error', status: 429, headers: { 'retry-after': '1' } })
    const result = await runToEnd()
    expectOneReply(result)
    const [first, second] = stack.upstream.requests
    expect(stack.upstream.requests).toHaveLength(2)
    expect(first!.outcome).toBe('error')
    // retry-after: 1 → at least ~1 s between the 429 and the next attempt (10% jitter on top).
    expect(second!.startedAt - first!.endedAt!).toBeGreaterThanOrEqual(950)
    expect(second!.runId).toBe(result.run.id)
  })

  it('500 then 503 then success → completed with one reply', async () => {
    stack.upstream.respondOnce({ kind: 'error', status: 500 }, { kind: 'error', status: 503 })
    const result = await runToEnd()
    expectOneReply(result)
    expect(stack.upstream.requests.map((r) => r.outcome)).toEqual(['error', 'error', 'completed'])
  })

  it('an upstream that never answers times out (UPSTREAM_TIMEOUT_MS), then success → completed', async () => {
    stack.upstream.respondOnce({ kind: 'hang' })
    const result = await runToEnd()
    expectOneReply(result)
    const [first, second] = stack.upstream.requests
    expect(stack.upstream.requests).toHaveLength(2)
    // The worker gave up on the hanging request (closed it) before retrying.
    expect(first!.aborted).toBe(true)
    expect(first!.endedAt! - first!.startedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
    expect(second!.outcome).toBe('completed')
  })

  it('a connection reset before any byte, then success → completed', async () => {
    stack.upstream.respondOnce({ kind: 'reset' })
    const result = await runToEnd()
    expectOneReply(result)
    expect(stack.upstream.requests.map((r) => r.outcome)).toEqual(['reset', 'completed'])
  })
})

describe('persistent upstream faults fail the run', () => {
  it(`persistent 429 → failed, rate_limit_exceeded, after ${ATTEMPTS} attempts`, async () => {
    stack.upstream.respond(() => ({ kind: 'error', status: 429, headers: { 'retry-after-ms': '10' } }))
    const { run, thread, messages } = await runToEnd()
    expect(run.status).toBe('failed')
    expect(run.last_error).toMatchObject({ code: 'rate_limit_exceeded', message: expect.any(String) })
    expect(run.failed_at).toEqual(expect.any(Number))
    expect(run.completed_at).toBeNull()
    expect(run.expires_at).toBeNull()
    expect(stack.upstream.requests).toHaveLength(ATTEMPTS)
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(0)
    // The thread is released: a new message and a new run are accepted.
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'again' })
  })

  it('persistent 5xx → failed, server_error', async () => {
    stack.upstream.respond(() => ({ kind: 'error', status: 502 }))
    const { run } = await runToEnd()
    expect(run.status).toBe('failed')
    expect(run.last_error?.code).toBe('server_error')
    // The provider's own body never reaches the client.
    expect(run.last_error?.message).not.toContain('127.0.0.1')
    expect(stack.upstream.requests).toHaveLength(ATTEMPTS)
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id })
    expect(steps.data).toHaveLength(0)
  })

  it('a 400 from the upstream is not retried → failed, invalid_prompt', async () => {
    stack.upstream.respond(() => ({
      kind: 'error',
      status: 400,
      body: { error: { message: 'bad prompt', type: 'invalid_request_error', param: null, code: null } },
    }))
    const { run } = await runToEnd()
    expect(run.status).toBe('failed')
    expect(run.last_error).toEqual({ code: 'invalid_prompt', message: 'bad prompt' })
    expect(stack.upstream.requests).toHaveLength(1)
  })

  it('a reset after output was streamed is not retried (no duplicated text) → failed, server_error', async () => {
    stack.upstream.respondOnce({ kind: 'reset', afterChunks: 2, text: 'half a reply that never ends' })
    const { run, messages } = await runToEnd()
    expect(run.status).toBe('failed')
    expect(run.last_error?.code).toBe('server_error')
    expect(stack.upstream.requests).toHaveLength(1)
    // What was streamed stays, closed as OpenAI closes an in-flight message of a failed run.
    const replies = messages.filter((m) => m.role === 'assistant')
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'run_failed' }, run_id: run.id })
    expect(textOf(replies[0]!)).toBe('half a ')
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id })).data
    expect(step).toMatchObject({ type: 'message_creation', status: 'failed', failed_at: expect.any(Number) })
  })
})
