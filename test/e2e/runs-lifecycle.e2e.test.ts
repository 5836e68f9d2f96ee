/**
 * A run's life as a client sees it: the tutorial's own polling loop, cancel mid-run, the poll
 * hint header, list/retrieve/modify, steps, and what reaches the model's prompt.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, pollRun, settled, startRunStack, textOf } from './runs-support.js'

let stack: RunStack
let client: OpenAI

beforeAll(async () => {
  stack = await startRunStack()
  client = stack.client
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

const lastPrompt = () => stack.upstream.requests.at(-1)!.body.messages

describe('polling', () => {
  it("the seed tutorial's loop: retrieve until completed, then read messages.data[0].content[0].text.value", async () => {
    // /work/shared/seed/000_cb9772eb715a750a.txt: "监控运行状态 … 直到状态变为 completed", translated to Node.
    const assistant = await stack.assistant({ instructions: 'You are an expert at writing excellent literature' })
    const thread = await client.beta.threads.create()
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: '写一篇国庆节普天同庆的庆祝文章' })
    let run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    expect(run.status).toBe('queued')
    const seen = new Set<string>([run.status])
    while (run.status !== 'completed') {
      run = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })
      seen.add(run.status)
      // Not in the tutorial: without it a failed run would spin until the test times out.
      if (['failed', 'cancelled', 'expired', 'incomplete'].includes(run.status)) throw new Error(`run ended ${run.status}`)
    }
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data[0]!.content[0]).toMatchObject({ type: 'text' })
    const finalAnswer = (messages.data[0]!.content[0] as OpenAI.Beta.Threads.TextContentBlock).text.value
    expect(finalAnswer).toBe('Echo: 写一篇国庆节普天同庆的庆祝文章 [context: 1 messages]')
    expect([...seen].every((s) => ['queued', 'in_progress', 'completed'].includes(s))).toBe(true)
  })

  it('unfinished runs carry openai-poll-after-ms; finished ones do not', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'slow' }] })
    stack.upstream.respondOnce({ kind: 'text', text: 'done at last', firstTokenDelayMs: 600 })
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id }).withResponse()
    expect(created.response.headers.get('openai-poll-after-ms')).toMatch(/^\d+$/)
    await stack.upstream.waitForRequests(1)
    const running = await client.beta.threads.runs.retrieve(created.data.id, { thread_id: thread.id }).withResponse()
    expect(running.data.status).toBe('in_progress')
    expect(Number(running.response.headers.get('openai-poll-after-ms'))).toBeGreaterThan(0)
    const done = await settled(client, created.data)
    expect(done.status).toBe('completed')
    const finished = await client.beta.threads.runs.retrieve(done.id, { thread_id: thread.id }).withResponse()
    expect(finished.response.headers.get('openai-poll-after-ms')).toBeNull()
  })
})

describe('cancel', () => {
  it('mid-run: cancelling, then cancelled, and the upstream request is aborted', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'never answered' }] })
    stack.upstream.respondOnce({ kind: 'hang' })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const [request] = await stack.upstream.waitForRequests(1)
    expect(request!.runId).toBe(run.id)
    const cancelling = await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
    expect(cancelling.status).toBe('cancelling')
    const ended = await settled(client, run)
    expect(ended).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(Number), expires_at: null, completed_at: null, failed_at: null })
    await expect.poll(() => request!.aborted).toBe(true)
    // No second attempt, no reply; the thread is free again.
    expect(stack.upstream.requests).toHaveLength(1)
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data.map((m) => m.role)).toEqual(['user'])
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'after cancel' })
  })

  it('mid-stream: the partly written reply ends incomplete with reason run_cancelled', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'talk slowly' }] })
    stack.upstream.respondOnce({ kind: 'hang', afterChunks: 3, text: 'one two three four five six' })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const [request] = await stack.upstream.waitForRequests(1)
    await expect.poll(() => request!.firstChunkAt).toBeDefined()
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
    const ended = await settled(client, run)
    expect(ended.status).toBe('cancelled')
    await expect.poll(() => request!.aborted).toBe(true)
    const replies = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ role: 'assistant', status: 'incomplete', incomplete_details: { reason: 'run_cancelled' } })
    expect(textOf(replies[0]!)).toBe('one two three ')
    const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data
    expect(steps).toHaveLength(1)
    expect(steps[0]).toMatchObject({ type: 'message_creation', status: 'cancelled', cancelled_at: expect.any(Number) })
  })

  it('while waiting out a rate limit: cancelled at once, no further attempt', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'rate limited' }] })
    stack.upstream.respondOnce({ kind: 'error', status: 429, headers: { 'retry-after': '20' } })
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })
    const [request] = await stack.upstream.waitForRequests(1)
    await expect.poll(() => request!.outcome).toBe('error')
    const asked = Date.now()
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id })
    const ended = await settled(client, run)
    expect(ended.status).toBe('cancelled')
    expect(Date.now() - asked).toBeLessThan(5000)
    expect(stack.upstream.requests).toHaveLength(1)
  })

  it('a finished run cannot be cancelled (400, OpenAI text)', async () => {
    const assistant = await stack.assistant()
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'hi' }] } },
      { pollIntervalMs: 50 },
    )
    expect(run.status).toBe('completed')
    const err = await client.beta.threads.runs.cancel(run.id, { thread_id: run.thread_id }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as Error).message).toContain("Cannot cancel run with status 'completed'.")
  })
})

describe('list, retrieve, modify, steps', () => {
  it('lists runs newest first, retrieves one, and modifies its metadata', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'first' }] })
    const first = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id, metadata: { n: '1' } }, { pollIntervalMs: 50 })
    const second = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 50 })
    const page = await client.beta.threads.runs.list(thread.id)
    expect(page.data.map((r) => r.id)).toEqual([second.id, first.id])
    expect(page.data.every((r) => r.status === 'completed')).toBe(true)
    const asc = await client.beta.threads.runs.list(thread.id, { order: 'asc', limit: 1 })
    expect(asc.data.map((r) => r.id)).toEqual([first.id])
    expect(asc.has_more).toBe(true)

    const got = await client.beta.threads.runs.retrieve(first.id, { thread_id: thread.id })
    expect(got).toMatchObject({
      id: first.id,
      object: 'thread.run',
      thread_id: thread.id,
      assistant_id: assistant.id,
      metadata: { n: '1' },
      status: 'completed',
    })
    const updated = await client.beta.threads.runs.update(first.id, { thread_id: thread.id, metadata: { n: '2', extra: 'yes' } })
    expect(updated.metadata).toEqual({ n: '2', extra: 'yes' })
    expect(updated.status).toBe('completed')
    expect((await client.beta.threads.runs.retrieve(first.id, { thread_id: thread.id })).metadata).toEqual({ n: '2', extra: 'yes' })

    const missing = await client.beta.threads.runs.retrieve('run_doesnotexist', { thread_id: thread.id }).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('lists and retrieves the run steps, with usage', async () => {
    const assistant = await stack.assistant()
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'steps please' }] } },
      { pollIntervalMs: 50 },
    )
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id })
    expect(steps.data).toHaveLength(1)
    const step = steps.data[0]!
    expect(step).toMatchObject({
      object: 'thread.run.step',
      run_id: run.id,
      thread_id: run.thread_id,
      assistant_id: assistant.id,
      type: 'message_creation',
      status: 'completed',
      completed_at: expect.any(Number),
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    })
    const [reply] = (await client.beta.threads.messages.list(run.thread_id, { run_id: run.id })).data
    expect(step.step_details).toEqual({ type: 'message_creation', message_creation: { message_id: reply!.id } })
    const again = await client.beta.threads.runs.steps.retrieve(step.id, { thread_id: run.thread_id, run_id: run.id })
    expect(again).toEqual(step)
    const wrongRun = await client.beta.threads.runs.steps.retrieve(step.id, { thread_id: run.thread_id, run_id: 'run_other' }).catch((e: unknown) => e)
    expect(wrongRun).toBeInstanceOf(OpenAI.NotFoundError)
  })
})

describe('what reaches the prompt', () => {
  it('additional_messages and additional_instructions', async () => {
    const assistant = await stack.assistant({ instructions: 'Base instructions.' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'original' }] })
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      {
        assistant_id: assistant.id,
        additional_instructions: 'Also be terse.',
        additional_messages: [
          { role: 'assistant', content: 'noted' },
          { role: 'user', content: 'added later' },
        ],
      },
      { pollIntervalMs: 50 },
    )
    expect(run.status).toBe('completed')
    // `instructions` echoes the effective base; the addition only reaches the prompt.
    expect(run.instructions).toBe('Base instructions.')
    expect(lastPrompt()).toEqual([
      { role: 'system', content: 'Base instructions.\n\nAlso be terse.' },
      { role: 'user', content: 'original' },
      { role: 'assistant', content: 'noted' },
      { role: 'user', content: 'added later' },
    ])
    const messages = await client.beta.threads.messages.list(thread.id, { order: 'asc' })
    expect(messages.data.map(textOf)).toEqual(['original', 'noted', 'added later', 'Echo: added later [context: 3 messages]'])
  })

  it('instructions override replace the assistant’s', async () => {
    const assistant = await stack.assistant({ instructions: 'Assistant instructions.' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id, instructions: 'Run instructions.' },
      { pollIntervalMs: 50 },
    )
    expect(run.instructions).toBe('Run instructions.')
    expect(lastPrompt()[0]).toEqual({ role: 'system', content: 'Run instructions.' })
    expect(JSON.stringify(lastPrompt())).not.toContain('Assistant instructions.')
  })

  it('model, temperature and top_p overrides reach the upstream request', async () => {
    const assistant = await stack.assistant({ temperature: 0.2 })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id, model: 'gpt-4o-mini', top_p: 0.5 },
      { pollIntervalMs: 50 },
    )
    expect(run).toMatchObject({ status: 'completed', model: 'gpt-4o-mini', temperature: 0.2, top_p: 0.5 })
    expect(stack.upstream.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2, top_p: 0.5, stream: true })
  })

  it('a second run sees the first run’s reply as history', async () => {
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'one' }] })
    await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 50 })
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'two' })
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, { pollIntervalMs: 50 })
    const [latest] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
    expect(textOf(latest!)).toBe('Echo: two [context: 3 messages]')
    expect(lastPrompt().map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
  })
})

describe('a run waits in its status until polled', () => {
  it('pollRun helper fails when the condition never holds (guards the suite against vacuous waits)', async () => {
    const assistant = await stack.assistant()
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'x' }] } },
      { pollIntervalMs: 50 },
    )
    await expect(pollRun(client, run, (r) => r.status === 'failed', 300)).rejects.toThrow()
  })
})
