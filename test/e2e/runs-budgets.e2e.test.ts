/**
 * Token budgets and truncation: what the upstream is sent (`truncation_strategy`,
 * `max_prompt_tokens`), how a run ends when a budget runs out (`incomplete` with OpenAI's reason),
 * and usage counted by Threadwork itself when the provider reports none.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, settled, startRunStack, textOf, words } from './runs-support.js'

let stack: RunStack
let client: OpenAI
let assistantId: string

beforeAll(async () => {
  stack = await startRunStack()
  client = stack.client
  assistantId = (await stack.assistant({ instructions: 'Be brief.' })).id
})
afterAll(() => stack?.close())
beforeEach(() => stack.upstream.reset())

/** The thread messages (not the system message) of the last upstream request. */
const sentThread = () => stack.upstream.requests.at(-1)!.body.messages.filter((m) => m.role !== 'system')
const contentOf = (m: { content?: unknown }) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))

async function threadOf(contents: string[]) {
  return client.beta.threads.create({ messages: contents.map((content, i) => ({ role: i % 2 ? ('assistant' as const) : ('user' as const), content })) })
}

describe('truncation', () => {
  it("last_messages: 2 → the upstream sees only the thread's 2 latest messages", async () => {
    const thread = await threadOf(['m1', 'm2', 'm3', 'm4', 'm5'])
    const run = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistantId, truncation_strategy: { type: 'last_messages', last_messages: 2 } },
      { pollIntervalMs: 50 },
    )
    expect(run.status).toBe('completed')
    expect(run.truncation_strategy).toEqual({ type: 'last_messages', last_messages: 2 })
    expect(sentThread().map(contentOf)).toEqual(['m4', 'm5'])
    expect(stack.upstream.requests.at(-1)!.body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' })
    const [reply] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
    expect(textOf(reply!)).toBe('Echo: m5 [context: 2 messages]')
  })

  it('auto with a small max_prompt_tokens drops messages in the middle, keeping the first and the latest', async () => {
    const middle = Array.from({ length: 12 }, (_, i) => `middle ${i} ${words(40, 'filler')}`)
    const thread = await threadOf(['the original task', ...middle, 'the final question'])
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId, max_prompt_tokens: 256 }, { pollIntervalMs: 50 })
    expect(run.status).toBe('completed')
    expect(run.truncation_strategy).toEqual({ type: 'auto', last_messages: null })
    const sent = sentThread().map(contentOf)
    expect(sent[0]).toBe('the original task')
    expect(sent.at(-1)).toBe('the final question')
    // 12 middle messages of ~100 tokens cannot fit in 256: most are dropped, the oldest first.
    expect(sent.length).toBeLessThan(6)
    expect(sent.some((c) => c.startsWith('middle 0 '))).toBe(false)
    const kept = sent.slice(1, -1).map((c) => Number(c.split(' ')[1]))
    expect(kept).toEqual([...kept].sort((a, b) => a - b))
    if (kept.length) expect(kept.at(-1)).toBe(11)
  })

  it('auto without limits sends the whole thread', async () => {
    const thread = await threadOf(['a', 'b', 'c', 'd'])
    await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, { pollIntervalMs: 50 })
    expect(sentThread().map(contentOf)).toEqual(['a', 'b', 'c', 'd'])
  })
})

describe('budgets', () => {
  it('max_completion_tokens: 256 with a longer reply → incomplete (max_completion_tokens), message incomplete', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: words(400), chunkSize: 50 })
    const thread = await threadOf(['write a lot'])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, max_completion_tokens: 256 })
    const run = await settled(client, created)
    expect(run).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_completion_tokens' }, max_completion_tokens: 256, last_error: null })
    expect(run.completed_at).toEqual(expect.any(Number))
    expect(run.usage).toMatchObject({ completion_tokens: 256 })
    // The cap was passed to the model: at most what is left of the run's budget.
    const body = stack.upstream.requests.at(-1)!.body
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(256)
    const [reply] = (await client.beta.threads.messages.list(thread.id, { run_id: run.id })).data
    expect(reply).toMatchObject({ role: 'assistant', status: 'incomplete', incomplete_details: { reason: 'max_tokens' }, incomplete_at: expect.any(Number) })
    expect(textOf(reply!).trim().split(' ')).toHaveLength(256)
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data
    expect(step).toMatchObject({ type: 'message_creation', status: 'completed', step_details: { message_creation: { message_id: reply!.id } } })
  })

  it('max_prompt_tokens: 256 with a huge latest message → incomplete (max_prompt_tokens), the model is never called', async () => {
    const thread = await threadOf([words(600)])
    const created = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, max_prompt_tokens: 256 })
    const run = await settled(client, created)
    expect(run).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_prompt_tokens' }, max_prompt_tokens: 256 })
    expect(run.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })
    expect(stack.upstream.requests).toHaveLength(0)
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data.map((m) => m.role)).toEqual(['user'])
    // The thread is released.
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'shorter' })
  })

  it('values below 256 are refused at create time (400, param named)', async () => {
    const thread = await threadOf(['x'])
    const err = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId, max_completion_tokens: 10 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('max_completion_tokens')
  })
})

describe('usage', () => {
  // Two long words: the fake reports 1 token per word, a real tokenizer counts many more.
  const reply = 'supercalifragilisticexpialidocious antidisestablishmentarianism'

  it('is the provider’s when it reports usage', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: reply })
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistantId, thread: { messages: [{ role: 'user', content: 'count me' }] } },
      { pollIntervalMs: 50 },
    )
    // Prompt words: "Be brief." (2) + "count me" (2).
    expect(run.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 })
  })

  it('is counted by Threadwork when the provider reports none', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: reply, usage: 'none' })
    const run = await client.beta.threads.createAndRunPoll(
      { assistant_id: assistantId, thread: { messages: [{ role: 'user', content: 'count me' }] } },
      { pollIntervalMs: 50 },
    )
    expect(run.status).toBe('completed')
    const usage = run.usage!
    // Tokenizer counts (o200k_base), not the fake's words: both long words split into several tokens.
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(6)
    expect(usage.completion_tokens).toBeLessThan(30)
    // System + user message with chat framing: more than their 4 words.
    expect(usage.prompt_tokens).toBeGreaterThan(4)
    expect(usage.prompt_tokens).toBeLessThan(40)
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens)
    const [step] = (await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id })).data
    expect(step!.usage).toEqual(usage)
  })
})
