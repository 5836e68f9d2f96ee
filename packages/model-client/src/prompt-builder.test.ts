import type { Message } from '@threadwork/domain'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { type BuildPromptParams, type PromptThreadMessage, buildPrompt, imageFilePlaceholder, renderMessage } from './prompt-builder.js'
import { countMessageTokens } from './token-counter.js'

// Deterministic counter: one token per word (roles are one word each).
const words = (t: string) => t.split(/\s+/).filter(Boolean).length
// Cost of a plain text message under `words`: 3 framing + 1 role + words.
const msgCost = (text: string) => 4 + words(text)

let seq = 0
const msg = (role: 'user' | 'assistant', text: string): PromptThreadMessage => ({
  id: `msg_${++seq}`,
  role,
  content: [{ type: 'text', text: { value: text } }],
})

const base = (over: Partial<BuildPromptParams>): BuildPromptParams => ({
  instructions: null,
  additionalInstructions: null,
  messages: [],
  truncation: { type: 'auto', last_messages: null },
  maxPromptTokens: null,
  countTokens: words,
  ...over,
})

const texts = (r: ReturnType<typeof buildPrompt>) => r.chatMessages.map((m) => (typeof m.content === 'string' ? m.content : m.content))

describe('buildPrompt: system message and rendering', () => {
  it('joins instructions and additional instructions', () => {
    const both = buildPrompt(base({ instructions: 'Be terse.', additionalInstructions: 'Use French.', messages: [msg('user', 'hi')] }))
    expect(both.chatMessages[0]).toEqual({ role: 'system', content: 'Be terse.\n\nUse French.' })
    expect(buildPrompt(base({ additionalInstructions: 'Only this.', messages: [msg('user', 'hi')] })).chatMessages[0]).toEqual({
      role: 'system',
      content: 'Only this.',
    })
    const none = buildPrompt(base({ instructions: '', additionalInstructions: null, messages: [msg('user', 'hi')] }))
    expect(none.chatMessages).toEqual([{ role: 'user', content: 'hi' }])
  })

  it('sends text-only content as a string, images as vision parts (user only)', () => {
    const user: PromptThreadMessage = {
      id: 'm1',
      role: 'user',
      content: [
        { type: 'text', text: { value: 'What is this?' } },
        { type: 'image_url', image_url: { url: 'https://img.example/cat.png', detail: 'low' } },
        { type: 'image_file', image_file: { file_id: 'file-abc' } },
      ],
    }
    expect(renderMessage(user)).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'https://img.example/cat.png', detail: 'low' } },
        { type: 'text', text: imageFilePlaceholder('file-abc') },
      ],
    })
    const assistant: PromptThreadMessage = {
      id: 'm2',
      role: 'assistant',
      content: [
        { type: 'text', text: { value: 'One.' } },
        { type: 'refusal', refusal: 'I cannot do that.' },
        { type: 'image_url', image_url: { url: 'https://img.example/x.png' } },
      ],
    }
    expect(renderMessage(assistant)).toEqual({ role: 'assistant', content: 'One.\n\nI cannot do that.\n\n[An image was shown here.]' })
    expect(renderMessage({ id: 'm3', role: 'user', content: [{ type: 'image_file', image_file: { file_id: 'f1' } }] })).toEqual({
      role: 'user',
      content: imageFilePlaceholder('f1'),
    })
  })

  it('promptTokens equals counting the final messages', () => {
    const messages = [msg('user', 'one two'), msg('assistant', 'three'), msg('user', 'four five six')]
    const r = buildPrompt(base({ instructions: 'sys tem', messages }))
    expect(r.promptTokens).toBe(countMessageTokens(r.chatMessages, words))
    expect(r).toMatchObject({ fits: true, droppedMessages: 0, limitedBy: null })
    // With the real tokenizer too.
    const real = buildPrompt({ ...base({ instructions: 'You are helpful.', messages }), countTokens: undefined })
    expect(real.promptTokens).toBe(countMessageTokens(real.chatMessages))
  })

  it('a domain Message is accepted as is', () => {
    expectTypeOf<Message>().toExtend<PromptThreadMessage>()
  })
})

describe('buildPrompt: truncation', () => {
  const thread = Array.from({ length: 10 }, (_, i) => msg(i % 2 === 0 ? 'user' : 'assistant', `m${i} w w w`))

  it('last_messages keeps the n most recent', () => {
    const r = buildPrompt(base({ messages: thread, truncation: { type: 'last_messages', last_messages: 3 } }))
    expect(texts(r)).toEqual(['m7 w w w', 'm8 w w w', 'm9 w w w'])
    expect(r.droppedMessages).toBe(7)
    expect(r.fits).toBe(true)
  })

  it('last_messages larger than the thread keeps everything; 0 still keeps the latest', () => {
    expect(buildPrompt(base({ messages: thread, truncation: { type: 'last_messages', last_messages: 50 } })).droppedMessages).toBe(0)
    expect(texts(buildPrompt(base({ messages: thread, truncation: { type: 'last_messages', last_messages: 0 } })))).toEqual(['m9 w w w'])
  })

  it('last_messages then drops the oldest of those if still over budget', () => {
    // Each message costs 8; 3 priming. Budget 20 → two messages.
    const r = buildPrompt(base({ messages: thread, truncation: { type: 'last_messages', last_messages: 5 }, maxPromptTokens: 20 }))
    expect(texts(r)).toEqual(['m8 w w w', 'm9 w w w'])
    expect(r.droppedMessages).toBe(8)
  })

  it('auto keeps everything that fits', () => {
    const r = buildPrompt(base({ messages: thread, truncation: null }))
    expect(r.droppedMessages).toBe(0)
    expect(r.chatMessages).toHaveLength(10)
  })

  it('auto drops from the middle, keeping the first user message and the most recent', () => {
    // 3 priming + 4 messages × 8 = 35.
    const r = buildPrompt(base({ messages: thread, maxPromptTokens: 35 }))
    expect(texts(r)).toEqual(['m0 w w w', 'm7 w w w', 'm8 w w w', 'm9 w w w'])
    expect(r).toMatchObject({ droppedMessages: 6, fits: true, promptTokens: 35, budgetTokens: 35 })
  })

  it('auto pins the first *user* message even after a leading assistant message', () => {
    const t = [msg('assistant', 'greeting'), msg('user', 'task'), msg('assistant', 'a'), msg('user', 'b'), msg('assistant', 'c'), msg('user', 'd')]
    // priming 3 + task 5 + d 5 + c 5 = 18
    const r = buildPrompt(base({ messages: t, maxPromptTokens: 18 }))
    expect(texts(r)).toEqual(['task', 'c', 'd'])
  })

  it('auto skips the first user message when it alone would not fit', () => {
    const t = [msg('user', 'very long first message with many many words in it'), msg('assistant', 'ok'), msg('user', 'next')]
    const r = buildPrompt(base({ messages: t, maxPromptTokens: 3 + msgCost('ok') + msgCost('next') }))
    expect(texts(r)).toEqual(['ok', 'next'])
    expect(r.droppedMessages).toBe(1)
  })

  it('the budget is min(max_prompt_tokens, context window - reserve)', () => {
    const r = buildPrompt(base({ messages: thread, maxPromptTokens: 1000, contextWindowTokens: 40, reserveCompletionTokens: 13 }))
    expect(r.budgetTokens).toBe(27)
    expect(r.chatMessages).toHaveLength(3) // 3 + 3 × 8 = 27 (first user pinned + 2 recent)
  })

  it('fits: false when the system message and the latest message exceed max_prompt_tokens', () => {
    const r = buildPrompt(base({ instructions: 'a b c d e f g h i j', messages: thread, maxPromptTokens: 20 }))
    expect(r).toMatchObject({ fits: false, limitedBy: 'max_prompt_tokens', droppedMessages: 9 })
    expect(r.chatMessages.map((m) => m.role)).toEqual(['system', 'assistant']) // m9 is the latest
    const w = buildPrompt(base({ messages: thread, contextWindowTokens: 10, reserveCompletionTokens: 0 }))
    expect(w).toMatchObject({ fits: false, limitedBy: 'context_window' })
  })

  it('an empty thread is just the system message', () => {
    const r = buildPrompt(base({ instructions: 'sys', messages: [] }))
    expect(r).toMatchObject({ fits: true, droppedMessages: 0, chatMessages: [{ role: 'system', content: 'sys' }] })
  })
})

describe('buildPrompt: tool turns', () => {
  const turn = {
    toolCalls: [
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ],
    outputs: [
      { tool_call_id: 'call_2', output: '12:00' },
      { tool_call_id: 'call_1', output: 'sunny' },
    ],
  }

  it('appends calls then outputs in call order, never dropped', () => {
    const thread = [msg('user', 'old stuff here'), msg('user', 'weather and time?')]
    const r = buildPrompt(base({ messages: thread, toolTurns: [turn] }))
    expect(r.chatMessages.slice(-3)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
    ])
    expect(r.promptTokens).toBe(countMessageTokens(r.chatMessages, words))
    // A budget that only leaves room for the latest message drops the older one, not the turn.
    const tight = buildPrompt(base({ messages: thread, toolTurns: [turn], maxPromptTokens: r.promptTokens - 1 }))
    expect(tight).toMatchObject({ fits: true, droppedMessages: 1 })
    expect(tight.chatMessages).toHaveLength(4)
  })

  it('rejects unpaired calls and outputs', () => {
    const thread = [msg('user', 'x')]
    expect(() => buildPrompt(base({ messages: thread, toolTurns: [{ ...turn, outputs: turn.outputs.slice(0, 1) }] }))).toThrow(
      'Missing output for tool call call_1.',
    )
    expect(() =>
      buildPrompt(base({ messages: thread, toolTurns: [{ ...turn, outputs: [...turn.outputs, { tool_call_id: 'call_9', output: '' }] }] })),
    ).toThrow('Output for unknown tool call call_9.')
    expect(() => buildPrompt(base({ messages: thread, toolTurns: [{ toolCalls: [], outputs: [] }] }))).toThrow()
  })
})

describe('buildPrompt: large threads', () => {
  const big = Array.from({ length: 100_000 }, (_, i) => msg(i % 2 === 0 ? 'user' : 'assistant', `message number ${i} with some words`))

  it('last_messages: 20 on 100,000 messages tokenizes only what it keeps', () => {
    const counter = vi.fn(words)
    const r = buildPrompt(base({ messages: big, truncation: { type: 'last_messages', last_messages: 20 }, countTokens: counter }))
    expect(r.chatMessages).toHaveLength(20)
    expect(r.droppedMessages).toBe(99_980)
    // role + content per kept message, nothing else.
    // role + content per kept message, nothing else: the work is O(kept), whatever the machine's speed.
    expect(counter.mock.calls.length).toBeLessThanOrEqual(2 * 20)
  })

  it('with the real tokenizer too', () => {
    const r = buildPrompt({ ...base({ messages: big, truncation: { type: 'last_messages', last_messages: 20 } }), countTokens: undefined })
    expect(r.chatMessages).toHaveLength(20)
  })

  it('auto stops tokenizing once the budget is spent', () => {
    const counter = vi.fn(words)
    const r = buildPrompt(base({ messages: big, maxPromptTokens: 1_000, countTokens: counter }))
    expect(r.fits).toBe(true)
    expect(r.chatMessages.length).toBeLessThan(100)
    expect(counter.mock.calls.length).toBeLessThan(300)
    expect(texts(r)[0]).toBe('message number 0 with some words')
    expect(texts(r).at(-1)).toBe('message number 99999 with some words')
  })
})

describe('buildPrompt: with the real tokenizer, each message is counted once', () => {
  const real = (over: Partial<BuildPromptParams>) => buildPrompt({ ...base(over), countTokens: undefined })

  it('the next turn tokenizes only the messages it has not seen (the same objects, as the worker keeps them)', () => {
    const thread = [msg('user', 'first question'), msg('assistant', 'first answer')]
    const before = real({ messages: thread, instructions: 'Be brief.' })
    expect(before.promptTokens).toBe(countMessageTokens(before.chatMessages))
    // A stored message never changes; changed in place here, its kept count shows it was not tokenized again.
    ;(thread[0]!.content[0] as { text: { value: string } }).text.value = 'first question, now with many more words than it had'
    expect(real({ messages: thread, instructions: 'Be brief.' }).promptTokens).toBe(before.promptTokens)
    // Another object with the same id is counted anew.
    const copy = real({ messages: [{ ...thread[0]! }, thread[1]!], instructions: 'Be brief.' })
    expect(copy.promptTokens).toBe(countMessageTokens(copy.chatMessages))
    expect(copy.promptTokens).toBeGreaterThan(before.promptTokens)
  })

  it('a caller-supplied counter is asked every time', () => {
    const counter = vi.fn(words)
    const thread = [msg('user', 'one two three')]
    buildPrompt(base({ messages: thread, countTokens: counter }))
    const calls = counter.mock.calls.length
    buildPrompt(base({ messages: thread, countTokens: counter }))
    expect(counter.mock.calls.length).toBe(2 * calls)
  })
})
