import type {
  ChatCompletionContentPartImage,
  ChatCompletionContentPartText,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions'
import { type CountTokens, REPLY_PRIMING_TOKENS, countChatMessageTokens, countTextTokens } from './token-counter.js'

/** A content part of a stored `thread.message` (the fields the prompt needs). */
export type PromptContentPart =
  | { type: 'text'; text: { value: string } }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' | null } }
  | { type: 'image_file'; image_file: { file_id: string; detail?: 'auto' | 'low' | 'high' | null } }
  | { type: 'refusal'; refusal: string }

/**
 * The parts of a `thread.message` wire object the prompt needs; a full domain `Message` fits.
 * Kept structural so this package does not depend on the domain schemas.
 */
export interface PromptThreadMessage {
  id: string
  role: 'user' | 'assistant'
  content: readonly PromptContentPart[]
}

/**
 * One round of function calling: the assistant's calls and the outputs submitted for them. Turns
 * are appended after the thread's messages in order and never dropped (an upstream rejects a
 * tool call without its output, and the reverse), so they always count against the budget.
 * Extension point: history from earlier runs' steps can be passed the same way.
 */
export interface ToolTurn {
  /** Text the assistant wrote alongside the calls, if any. */
  content?: string | null
  toolCalls: readonly { id: string; name: string; arguments: string }[]
  outputs: readonly { tool_call_id: string; output: string }[]
}

export interface TruncationStrategyInput {
  type: 'auto' | 'last_messages'
  last_messages?: number | null
}

export interface BuildPromptParams {
  instructions: string | null
  additionalInstructions: string | null
  /** Oldest first. */
  messages: readonly PromptThreadMessage[]
  /** The run's `truncation_strategy`; null/undefined means `auto`. */
  truncation?: TruncationStrategyInput | null
  /** The run's `max_prompt_tokens`. */
  maxPromptTokens: number | null
  /** Default 128 000. */
  contextWindowTokens?: number
  /** Room left for the reply inside the context window. Default 4 096. */
  reserveCompletionTokens?: number
  toolTurns?: readonly ToolTurn[]
  /** Text token counter; default the real tokenizer. */
  countTokens?: CountTokens
}

export interface BuiltPrompt {
  chatMessages: ChatCompletionMessageParam[]
  /** Estimated prompt tokens of `chatMessages` (framing and reply priming included). */
  promptTokens: number
  /** Thread messages left out (by `last_messages` or to fit the budget). */
  droppedMessages: number
  /** False when even the system message, the latest message and the tool turns exceed the budget. */
  fits: boolean
  /** When `fits` is false, the binding limit (`max_prompt_tokens` → run `incomplete`). */
  limitedBy: 'max_prompt_tokens' | 'context_window' | null
  /** min(max_prompt_tokens, context window − reserve). */
  budgetTokens: number
}

const DEFAULT_CONTEXT_WINDOW = 128_000
const DEFAULT_RESERVE = 4_096

/**
 * Tokens of each thread message's rendering (`countChatMessageTokens(renderMessage(m))`), by the
 * message object. The worker keeps a thread's final messages across turns (its message cache), so
 * a turn tokenizes what is new to it (its own message, the reply before it) instead of its whole
 * history every turn (issue 14). A stored message's content never changes (edits touch only
 * metadata), and a copy with other content (image data added) is another object.
 */
const messageTokens = new WeakMap<PromptThreadMessage, number>()
/** The system message's tokens by its text: an assistant's instructions come back every turn. Cleared past 4 M characters. */
const systemTokens = new Map<string, number>()
let systemTokensChars = 0
const SYSTEM_TOKENS_MAX_CHARS = 4_000_000

/**
 * Turns a thread into chat messages within the token budget. Pure: no I/O, no clock.
 *
 * - System message: `instructions` + "\n\n" + `additionalInstructions` (each when non-empty).
 * - `last_messages: n` keeps the n most recent messages (then drops the oldest of those if still
 *   over budget); `auto` keeps the latest message, then the thread's first user message if it
 *   fits, then as many recent messages as fit, dropping from the middle.
 * - Work is proportional to the messages kept, not the thread: only candidates are tokenized.
 */
export function buildPrompt(params: BuildPromptParams): BuiltPrompt {
  const {
    instructions,
    additionalInstructions,
    messages,
    truncation,
    maxPromptTokens,
    contextWindowTokens = DEFAULT_CONTEXT_WINDOW,
    reserveCompletionTokens = DEFAULT_RESERVE,
    toolTurns = [],
    countTokens = countTextTokens,
  } = params

  const windowBudget = contextWindowTokens - reserveCompletionTokens
  const budget = maxPromptTokens === null ? windowBudget : Math.min(maxPromptTokens, windowBudget)
  const limitedBy = maxPromptTokens !== null && maxPromptTokens <= windowBudget ? 'max_prompt_tokens' : 'context_window'
  const cost = (m: ChatCompletionMessageParam) => countChatMessageTokens(m, countTokens)
  // With the real tokenizer, a thread message's count is computed once per message object (see messageTokens).
  const cached = countTokens === countTextTokens
  const messageCost = (m: PromptThreadMessage, rendered: ChatCompletionMessageParam): number => {
    if (!cached) return cost(rendered)
    let n = messageTokens.get(m)
    if (n === undefined) {
      n = cost(rendered)
      messageTokens.set(m, n)
    }
    return n
  }
  const systemCost = (m: ChatCompletionMessageParam & { content: string }): number => {
    if (!cached) return cost(m)
    let n = systemTokens.get(m.content)
    if (n === undefined) {
      n = cost(m)
      if (systemTokensChars + m.content.length > SYSTEM_TOKENS_MAX_CHARS) {
        systemTokens.clear()
        systemTokensChars = 0
      }
      systemTokens.set(m.content, n)
      systemTokensChars += m.content.length
    }
    return n
  }

  const head: ChatCompletionMessageParam[] = []
  const system = [instructions, additionalInstructions].filter((s): s is string => !!s && s.trim() !== '').join('\n\n')
  let used = REPLY_PRIMING_TOKENS
  if (system !== '') {
    const message = { role: 'system' as const, content: system }
    head.push(message)
    used += systemCost(message)
  }
  const tail = toolTurns.flatMap(renderToolTurn)
  for (const m of tail) used += cost(m)

  const lastMessages = truncation?.type === 'last_messages' ? truncation.last_messages : null
  // At least 1: the latest message is always kept.
  const start = lastMessages != null ? Math.max(0, messages.length - Math.max(1, lastMessages)) : 0
  const lastIndex = messages.length - 1
  const result = (kept: ChatCompletionMessageParam[], fits: boolean): BuiltPrompt => ({
    chatMessages: [...head, ...kept, ...tail],
    promptTokens: used,
    droppedMessages: messages.length - kept.length,
    fits,
    limitedBy: fits ? null : limitedBy,
    budgetTokens: budget,
  })

  const latestMessage = messages[lastIndex]
  if (latestMessage === undefined) return result([], used <= budget)

  // The latest message is always kept; if it cannot fit, the run cannot proceed.
  const latest = renderMessage(latestMessage)
  used += messageCost(latestMessage, latest)
  if (used > budget) return result([latest], false)

  const kept = new Map<number, ChatCompletionMessageParam>([[lastIndex, latest]])
  let pinned = -1
  if (truncation?.type !== 'last_messages') {
    // `auto`: the first user message usually states the task; keep it when it fits.
    pinned = messages.findIndex((m) => m.role === 'user')
    const first = pinned >= 0 && pinned < lastIndex ? messages[pinned] : undefined
    if (first) {
      const rendered = renderMessage(first)
      const c = messageCost(first, rendered)
      if (used + c <= budget) {
        kept.set(pinned, rendered)
        used += c
      } else pinned = -1
    }
  }
  // Newest to oldest; stop at the first message that does not fit, so what is kept stays contiguous.
  for (let i = lastIndex - 1; i >= start; i--) {
    if (i === pinned) continue
    const message = messages[i]
    if (message === undefined) continue
    const rendered = renderMessage(message)
    const c = messageCost(message, rendered)
    if (used + c > budget) break
    kept.set(i, rendered)
    used += c
  }
  const ordered = [...kept.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])
  return result(ordered, true)
}

/** Shown to the model in place of an `image_file` part: there is no file storage to read it from. */
export const imageFilePlaceholder = (fileId: string) => `[Image file ${fileId} was attached but is not available to the model.]`

/**
 * One thread message as a chat message. Text-only content is sent as a plain string, the form
 * every OpenAI-compatible server accepts; parts arrays are used only for user messages with images.
 */
export function renderMessage(message: PromptThreadMessage): ChatCompletionMessageParam {
  const texts: string[] = []
  const parts: (ChatCompletionContentPartText | ChatCompletionContentPartImage)[] = []
  let hasImage = false
  for (const part of message.content) {
    let text: string | undefined
    switch (part.type) {
      case 'text':
        text = part.text.value
        break
      case 'refusal':
        text = part.refusal
        break
      case 'image_file':
        text = imageFilePlaceholder(part.image_file.file_id)
        break
      case 'image_url':
        if (message.role === 'user') {
          hasImage = true
          const { url, detail } = part.image_url
          parts.push({ type: 'image_url', image_url: detail ? { url, detail } : { url } })
        } else {
          // Vision parts are accepted on user messages only.
          text = '[An image was shown here.]'
        }
        break
    }
    if (text !== undefined) {
      texts.push(text)
      parts.push({ type: 'text', text })
    }
  }
  if (message.role === 'assistant') return { role: 'assistant', content: texts.join('\n\n') }
  return { role: 'user', content: hasImage ? parts : texts.join('\n\n') }
}

/** A tool turn as an assistant message with `tool_calls` followed by one `tool` message per call. */
export function renderToolTurn(turn: ToolTurn): ChatCompletionMessageParam[] {
  if (turn.toolCalls.length === 0) throw new Error('A tool turn needs at least one tool call.')
  const outputs = new Map<string, string>()
  for (const o of turn.outputs) {
    if (outputs.has(o.tool_call_id)) throw new Error(`Duplicate output for tool call ${o.tool_call_id}.`)
    outputs.set(o.tool_call_id, o.output)
  }
  const messages: ChatCompletionMessageParam[] = [
    {
      role: 'assistant',
      // null, not '': it is what OpenAI returns beside tool_calls, so compatible servers expect it.
      content: turn.content || null,
      tool_calls: turn.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    },
  ]
  for (const call of turn.toolCalls) {
    const output = outputs.get(call.id)
    if (output === undefined) throw new Error(`Missing output for tool call ${call.id}.`)
    outputs.delete(call.id)
    messages.push({ role: 'tool', tool_call_id: call.id, content: output })
  }
  const extra = outputs.keys().next()
  if (!extra.done) throw new Error(`Output for unknown tool call ${extra.value}.`)
  return messages
}
