import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { contentText } from './fake-upstream-plan.js'
import type { FakeToolCall, RecordedRequest, Reply, ReplyHandler } from './fake-upstream-types.js'

type Message = ChatCompletionCreateParams['messages'][number]

/** What a scripted round sees of the request: the tool outputs the model was handed. */
export interface ToolRound {
  body: ChatCompletionCreateParams
  /** 0-based: how many tool-calling rounds of this turn came before (assistant `tool_calls` messages after the last user message). */
  round: number
  /** The outputs of the previous round's calls, in call order ([] in round 0). */
  outputs: string[]
  /** Every tool output since the last user message, oldest first. */
  allOutputs: string[]
}

/**
 * One round of a scripted tool-using model: call tools (optionally writing `text` first), or answer
 * with text (which may quote what the tools returned, e.g. their source markers).
 */
export type ToolScriptStep =
  | { call: FakeToolCall | FakeToolCall[]; text?: string }
  | { answer: string | ((round: ToolRound) => string) }
  | ((round: ToolRound) => Reply)

/** The tool-calling rounds of the request's turn, and their outputs. */
export function toolRoundOf(body: ChatCompletionCreateParams): ToolRound {
  const messages: Message[] = Array.isArray(body.messages) ? body.messages : []
  const lastUser = messages.findLastIndex((m) => m.role === 'user')
  const after = messages.slice(lastUser + 1)
  const round = after.filter((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0).length
  const allOutputs = after.filter((m) => m.role === 'tool').map((m) => contentText(m.content))
  const lastCalls = after.findLastIndex((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0)
  const outputs = lastCalls < 0 ? [] : after.slice(lastCalls + 1).filter((m) => m.role === 'tool').map((m) => contentText(m.content))
  return { body, round, outputs, allOutputs }
}

/**
 * A handler for a model that uses tools: the request's round (see {@link ToolRound}) picks the step,
 * so the script follows the conversation rather than the arrival order — a request re-sent after a
 * worker crash or an upstream retry gets the same reply. Rounds past the script answer with the
 * last tool output quoted (`Done: <output>`).
 *
 * ```ts
 * upstream.respond(toolScript([
 *   { call: { name: 'file_search', arguments: JSON.stringify({ queries: ['pump pressure'] }) } },
 *   { answer: ({ outputs }) => `40 bar ${sourceMarkersIn(outputs[0]!)[0]}` },
 * ]))
 * ```
 */
export function toolScript(steps: readonly ToolScriptStep[]): ReplyHandler {
  return (req: RecordedRequest): Reply => {
    const round = toolRoundOf(req.body)
    const step = steps[round.round]
    if (step === undefined) return { kind: 'text', text: `Done: ${round.outputs.join('\n')}` }
    if (typeof step === 'function') return step(round)
    if ('call' in step) return { kind: 'tool_calls', text: step.text, calls: Array.isArray(step.call) ? step.call : [step.call] }
    return { kind: 'text', text: typeof step.answer === 'function' ? step.answer(round) : step.answer }
  }
}

/** The file_search source markers (`【0:1†manual.md】`) in a tool output, in order. */
export function sourceMarkersIn(text: string): string[] {
  return text.match(/【\d+:\d+†[^】\n]*】/g) ?? []
}

/** A `python` call (Threadwork's code_interpreter function) running `code`. */
export const pythonCall = (code: string): FakeToolCall => ({ name: 'python', arguments: JSON.stringify({ code }) })

/** A `file_search` call (Threadwork's file_search function) with `queries`. */
export const fileSearchCall = (...queries: string[]): FakeToolCall => ({ name: 'file_search', arguments: JSON.stringify({ queries }) })
