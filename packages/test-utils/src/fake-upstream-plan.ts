import { randomBytes } from 'node:crypto'
import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions'
import type {
  FakeToolCall,
  QuirkyToolCallsReply,
  RecordedRequest,
  Reply,
  TextReply,
  ToolCallsReply,
} from './fake-upstream-types.js'

/** One SSE chunk's `delta`. Loose on purpose: the quirky styles break the SDK's delta type. */
export type Delta = Record<string, unknown>

/** A reply turned into wire pieces: what to stream, and what a non-stream body says. */
export interface Plan {
  /** Each batch is one write; the first after `firstTokenDelayMs`, the rest after `interChunkDelayMs`. */
  batches: Delta[][]
  finishReason: 'stop' | 'length' | 'tool_calls'
  /** The delta of the final chunk that carries `finish_reason`. */
  finishDelta: Delta
  /** The assembled message for a non-stream response. */
  message: { content: string | null; tool_calls?: ChatCompletionMessageFunctionToolCall[] }
  completionTokens: number
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `prefix` + `length` random base62 chars; OpenAI's shapes are `chatcmpl-` + 29 and `call_` + 24. */
export function randomId(prefix: string, length: number): string {
  let out = prefix
  for (const byte of randomBytes(length)) out += BASE62[byte % 62]
  return out
}

/** Words with their trailing whitespace (leading whitespace joins the first): they concatenate back to `text`. */
export function wordTokens(text: string): string[] {
  const tokens: string[] = text.match(/\S+\s*/g) ?? []
  const lead = /^\s+/.exec(text)?.[0]
  if (lead) {
    if (tokens.length > 0) tokens[0] = lead + tokens[0]
    else tokens.push(lead)
  }
  return tokens
}

const countWords = (text: string): number => text.match(/\S+/g)?.length ?? 0

/** OpenAI-style argument fragments: alternating runs of word characters and of the rest. */
const argumentFragments = (args: string): string[] => args.match(/\w+|\W+/g) ?? []

/** Fixed-width pieces that ignore token boundaries (vLLM style). */
function pieces(text: string, width: number): string[] {
  const chars = Array.from(text)
  const out: string[] = []
  for (let i = 0; i < chars.length; i += width) out.push(chars.slice(i, i + width).join(''))
  return out
}

/** The text of a message's `content`: a string, or its text parts joined by newlines. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : '',
    )
    .filter((text) => text !== '')
    .join('\n')
}

type Message = ChatCompletionCreateParams['messages'][number]
const messagesOf = (body: ChatCompletionCreateParams): Message[] => (Array.isArray(body.messages) ? body.messages : [])

/** The text of the last `user` message, or `''`. */
export function lastUserText(body: ChatCompletionCreateParams): string {
  const last = messagesOf(body).findLast((m) => m.role === 'user')
  return last ? contentText(last.content) : ''
}

/** Prompt tokens: words of every message's text plus its tool calls' names and arguments. */
export function promptTokens(body: ChatCompletionCreateParams): number {
  let total = 0
  for (const m of messagesOf(body)) {
    total += countWords(contentText(m.content))
    if (m.role === 'assistant') {
      for (const call of m.tool_calls ?? []) {
        if (call.type === 'function') total += 1 + argumentFragments(call.function.arguments).length
      }
    }
  }
  return total
}

/** `Echo: <last user text> [context: <n> messages]`, n counting all but system/developer messages. */
export function echoText(body: ChatCompletionCreateParams): string {
  const context = messagesOf(body).filter((m) => m.role !== 'system' && m.role !== 'developer').length
  return `Echo: ${lastUserText(body)} [context: ${context} messages]`
}

/**
 * The reply when nothing is scripted: a forced `tool_choice` (`'required'` or a named function)
 * with `tools` calls that tool (the first tool for `'required'`) with arguments `{}`; otherwise
 * the text {@link echoText}, so a test can see how much history each answer saw.
 */
export function defaultReply(req: RecordedRequest): Reply {
  const { tools, tool_choice: choice } = req.body
  const first = tools?.find((t) => t.type === 'function')
  if (first && choice === 'required')
    return { kind: 'tool_calls', calls: [{ name: first.function.name, arguments: '{}' }] }
  if (tools?.length && typeof choice === 'object' && choice?.type === 'function') {
    return { kind: 'tool_calls', calls: [{ name: choice.function.name, arguments: '{}' }] }
  }
  return { kind: 'text', text: echoText(req.body) }
}

/** The token budget from `max_completion_tokens`, else `max_tokens`, else none. */
export function maxTokensOf(body: ChatCompletionCreateParams): number | undefined {
  const max = body.max_completion_tokens ?? body.max_tokens
  return typeof max === 'number' && max >= 0 ? Math.floor(max) : undefined
}

/**
 * What a real model can do with this request's tool settings: no calls without `tools` or with
 * `tool_choice: 'none'` (the text stays), one call with `parallel_tool_calls: false`.
 */
export function applyToolPolicy(reply: Reply, body: ChatCompletionCreateParams): Reply {
  if (reply.kind !== 'tool_calls' && reply.kind !== 'quirky_tool_calls') return reply
  if (!body.tools?.length || body.tool_choice === 'none') {
    const text = reply.kind === 'tool_calls' ? (reply.text ?? '') : ''
    return {
      kind: 'text',
      text,
      firstTokenDelayMs: reply.firstTokenDelayMs,
      interChunkDelayMs: reply.interChunkDelayMs,
      usage: reply.usage,
    }
  }
  if (body.parallel_tool_calls === false && reply.calls.length > 1) return { ...reply, calls: reply.calls.slice(0, 1) }
  return reply
}

const group = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

type Unit =
  | { type: 'text'; text: string }
  | { type: 'header'; call: number }
  | { type: 'args'; call: number; text: string }

/** Plans a text or OpenAI-style tool-call reply, cut to `maxTokens` tokens. */
export function planStandard(reply: TextReply | ToolCallsReply, maxTokens: number | undefined): Plan {
  const calls = reply.kind === 'tool_calls' ? reply.calls : []
  const units: Unit[] = wordTokens(reply.text ?? '').map((text) => ({ type: 'text', text }))
  calls.forEach((call, i) => {
    units.push({ type: 'header', call: i })
    for (const text of argumentFragments(call.arguments)) units.push({ type: 'args', call: i, text })
  })
  const cut = maxTokens !== undefined && units.length > maxTokens
  const emitted = cut ? units.slice(0, maxTokens) : units
  const ids = calls.map(() => randomId('call_', 24))

  const deltas: Delta[] = []
  const textUnits = emitted.filter((u) => u.type === 'text')
  for (const words of group(textUnits, Math.max(1, reply.chunkSize ?? 1)))
    deltas.push({ content: words.map((u) => u.text).join('') })
  const assembled: ChatCompletionMessageFunctionToolCall[] = []
  for (const unit of emitted) {
    if (unit.type === 'header') {
      const call = calls[unit.call] as FakeToolCall
      const id = ids[unit.call] as string
      assembled.push({ id, type: 'function', function: { name: call.name, arguments: '' } })
      deltas.push({
        tool_calls: [{ index: unit.call, id, type: 'function', function: { name: call.name, arguments: '' } }],
      })
    } else if (unit.type === 'args') {
      const target = assembled[unit.call]
      if (target) target.function.arguments += unit.text
      deltas.push({ tool_calls: [{ index: unit.call, function: { arguments: unit.text } }] })
    }
  }

  // OpenAI opens with a role delta: alone (content '') before text, merged into the first
  // tool-call delta (content null) when there is no text.
  const hasText = textUnits.length > 0
  const role = { role: 'assistant', content: hasText ? '' : null, refusal: null }
  const [first, ...rest] = deltas
  const batches: Delta[][] =
    first === undefined
      ? [[{ ...role, content: '' }]]
      : hasText
        ? [[role, first], ...rest.map((d) => [d])]
        : [[{ ...role, ...first }], ...rest.map((d) => [d])]

  const content = hasText ? textUnits.map((u) => u.text).join('') : calls.length > 0 ? null : ''
  return {
    batches,
    finishReason: cut ? 'length' : assembled.length > 0 ? 'tool_calls' : 'stop',
    finishDelta: {},
    message: assembled.length > 0 ? { content, tool_calls: assembled } : { content },
    completionTokens: emitted.length,
  }
}

/** Plans a quirky tool-call stream; see {@link QuirkyToolCallsReply} for the exact shapes. */
export function planQuirky(reply: QuirkyToolCallsReply): Plan {
  const calls = reply.calls.map((call) => ({ ...call, id: randomId('call_', 24) }))
  const message = {
    content: null,
    tool_calls: calls.map(({ id, name, arguments: args }) => ({
      id,
      type: 'function' as const,
      function: { name, arguments: args },
    })),
  }
  const completionTokens = calls.reduce((sum, c) => sum + 1 + argumentFragments(c.arguments).length, 0)
  const base = { message, completionTokens, finishDelta: {} as Delta, finishReason: 'tool_calls' as const }

  if (reply.style === 'ollama') {
    const batches = calls.map((call, k) => [
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            ...(k % 2 === 0 ? { index: 0 } : {}),
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          },
        ],
      },
    ])
    return { ...base, batches, finishReason: 'stop', finishDelta: { role: 'assistant', content: '' } }
  }

  if (reply.style === 'vllm') {
    const batches: Delta[][] = [[{ role: 'assistant', content: '' }]]
    calls.forEach((call, k) => {
      const parts = pieces(call.arguments, 3)
      const firstArgs = k % 2 === 0 ? null : (parts.shift() ?? '')
      batches.push([
        {
          tool_calls: [
            { index: k, id: call.id, type: 'function', function: { name: call.name, arguments: firstArgs } },
          ],
        },
      ])
      for (const part of parts) batches.push([{ tool_calls: [{ index: k, function: { arguments: part } }] }])
    })
    return { ...base, batches }
  }

  const fragments = calls.map((call, k) => [
    { index: k, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
    ...argumentFragments(call.arguments).map((text) => ({ index: k, function: { arguments: text } })),
  ])
  const rounds = Math.max(0, ...fragments.map((f) => f.length))
  const batches: Delta[][] = [[{ role: 'assistant', content: null }]]
  for (let r = 0; r < rounds; r++) {
    const round = fragments
      .map((f) => f[r])
      .filter((f) => f !== undefined)
      .reverse()
    batches.push([{ tool_calls: round }])
  }
  return { ...base, batches }
}
