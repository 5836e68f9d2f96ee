/**
 * Runs survive their worker: SIGKILL mid-run (another worker takes over, one reply in the end),
 * SIGTERM (finish the run, or hand it back after SHUTDOWN_GRACE_SECONDS; start no queued turn), and many threads across
 * two workers never run one thread's model calls at the same time.
 */
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

beforeAll(async () => {
  // WORKER_LOCK_MS 2000 (runs-support): a dead worker's job is taken over within ~3 s.
  stack = await startRunStack({ workers: 0 })
  client = stack.client
  assistantId = (await stack.assistant()).id
})
afterAll(() => stack?.close())
beforeEach(async () => {
  await stack.killWorkers()
  stack.upstream.reset()
})

async function startRun(content: string) {
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content }] })
  const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId })
  return { thread, run }
}

async function assistantReplies(threadId: string) {
  return (await client.beta.threads.messages.list(threadId)).data.filter((m) => m.role === 'assistant')
}

describe('a worker killed mid-run (SIGKILL)', () => {
  it('another worker takes the run over; it completes with exactly one assistant message', async () => {
    const a = await stack.startWorker()
    // The first attempt streams a little, then stalls: A dies holding a half-written reply.
    stack.upstream.respondOnce({ kind: 'hang', afterChunks: 2 })
    const { thread, run } = await startRun('survive this')
    const [first] = await stack.upstream.waitForRequests(1)
    await expect.poll(() => first!.firstChunkAt).toBeDefined()
    const b = await stack.startWorker()
    a.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')

    const done = await settled(client, run, 20_000)
    expect(done.status).toBe('completed')
    expect(first!.aborted).toBe(true)
    expect(stack.upstream.requests).toHaveLength(2)
    expect(stack.upstream.requests[1]!.runId).toBe(run.id)
    // Never two model calls of one thread at once.
    expect(stack.upstream.overlaps).toEqual([])
    const replies = await assistantReplies(thread.id)
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ status: 'completed', run_id: run.id })
    expect(textOf(replies[0]!)).toBe('Echo: survive this [context: 1 messages]')
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })
    expect(steps.data).toHaveLength(1)
    expect(steps.data[0]).toMatchObject({ status: 'completed', step_details: { message_creation: { message_id: replies[0]!.id } } })
    expect(b.child.exitCode).toBeNull()
  })
})

describe('a worker asked to stop (SIGTERM)', () => {
  it('finishes the run in flight, then exits 0', async () => {
    const a = await stack.startWorker()
    stack.upstream.respondOnce({ kind: 'text', text: 'finished before exiting', firstTokenDelayMs: 1500 })
    const { thread, run } = await startRun('finish me')
    await stack.upstream.waitForRequests(1)
    a.kill('SIGTERM')
    expect(await a.exited).toBe(0)
    // Already done when the process is gone: nobody else could have finished it.
    const after = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })
    expect(after.status).toBe('completed')
    expect(stack.upstream.requests).toHaveLength(1)
    expect(stack.upstream.requests[0]!.outcome).toBe('completed')
    const replies = await assistantReplies(thread.id)
    expect(replies.map(textOf)).toEqual(['finished before exiting'])
  })

  it('after SHUTDOWN_GRACE_SECONDS hands the run back, exits 0, and another worker completes it', async () => {
    const a = await stack.startWorker({ SHUTDOWN_GRACE_SECONDS: '1' })
    stack.upstream.respondOnce({ kind: 'text', text: 'too slow', firstTokenDelayMs: 40_000 })
    const { thread, run } = await startRun('hand me back')
    const [first] = await stack.upstream.waitForRequests(1)
    const stopAt = Date.now()
    a.kill('SIGTERM')
    expect(await a.exited).toBe(0)
    // Long before the 40 s reply: the worker gave up on it after its 1 s grace (loose for a loaded machine).
    expect(Date.now() - stopAt).toBeLessThan(20_000)
    await expect.poll(() => first!.aborted).toBe(true)
    const between = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })
    // Handed back, not ended: no worker is running, and the run is still active.
    expect(['queued', 'in_progress']).toContain(between.status)

    await stack.startWorker()
    const done = await settled(client, run, 20_000)
    expect(done.status).toBe('completed')
    expect(stack.upstream.requests).toHaveLength(2)
    const replies = await assistantReplies(thread.id)
    expect(replies.map(textOf)).toEqual(['Echo: hand me back [context: 1 messages]'])
  })

  it("starts none of the thread's queued turns once stopping: finishes the one in flight, exits, and another worker runs the rest", async () => {
    // A long grace: before the fix the worker spent it starting the next turn, and the next.
    const a = await stack.startWorker({ SHUTDOWN_GRACE_SECONDS: '30' })
    stack.upstream.respondOnce({ kind: 'text', text: 'first answer', firstTokenDelayMs: 1500 })
    const thread = await client.beta.threads.create()
    const post = async (content: string) => {
      const res = await fetch(`${client.baseURL}/threads/${thread.id}/turns`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ assistant_id: assistantId, content }),
      })
      expect(res.status).toBe(202)
      return (await res.json()) as { id: string }
    }
    await post('first')
    const second = await post('second')
    await stack.upstream.waitForRequests(1)
    a.kill('SIGTERM')
    expect(await a.exited).toBe(0)
    // Only the turn in flight reached the model: the second was left queued, not started and aborted.
    expect(stack.upstream.requests.map((r) => r.outcome)).toEqual(['completed'])
    const turnStatus = async () =>
      (
        (await (
          await fetch(`${client.baseURL}/threads/${thread.id}/turns/${second.id}`, { headers: { authorization: `Bearer ${client.apiKey}` } })
        ).json()) as { status: string }
      ).status
    expect(await turnStatus()).toBe('queued')

    await stack.startWorker()
    await expect.poll(turnStatus, { timeout: 20_000 }).toBe('completed')
    const replies = await assistantReplies(thread.id)
    expect(replies.map(textOf)).toEqual(['Echo: second [context: 3 messages]', 'first answer'])
  })
})

describe('many threads across two workers', () => {
  it('every run completes once; no thread ever has two model calls in flight', async () => {
    await Promise.all([stack.startWorker(), stack.startWorker()])
    stack.upstream.respond((req) => ({ kind: 'text', text: `reply for ${req.threadId}`, firstTokenDelayMs: 100 }))
    const n = 30
    const started = await Promise.all(Array.from({ length: n }, (_, i) => startRun(`thread ${i}`)))
    const runs = await Promise.all(started.map(({ run }) => settled(client, run, 20_000)))
    expect(runs.map((r) => r.status)).toEqual(Array(n).fill('completed'))
    expect(stack.upstream.requests).toHaveLength(n)
    expect(stack.upstream.maxInFlightPerThread).toBe(1)
    expect(stack.upstream.overlaps).toEqual([])
    // Both workers did some of the work: the upstream saw more than one run at a time.
    expect(stack.upstream.maxInFlight).toBeGreaterThan(1)
    const replies = await Promise.all(started.map(({ thread }) => assistantReplies(thread.id)))
    expect(replies.map((r) => r.length)).toEqual(Array(n).fill(1))
    expect(replies.map((r) => textOf(r[0]!))).toEqual(started.map(({ thread }) => `reply for ${thread.id}`))
  })
})
