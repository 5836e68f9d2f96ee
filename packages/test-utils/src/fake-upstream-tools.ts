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
  /** The previous round's calls in order, each with the output its tool message carried ('' if none); [] in round 0. */
  calls: (FakeToolCall & { output: string })[]
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
  const answered = lastCalls < 0 ? [] : after.slice(lastCalls + 1).flatMap((m) => (m.role === 'tool' ? [m] : []))
  const outputs = answered.map((m) => contentText(m.content))
  const asked = lastCalls < 0 ? undefined : after[lastCalls]
  const calls = (asked?.role === 'assistant' ? (asked.tool_calls ?? []) : []).flatMap((c) =>
    c.type === 'function'
      ? [{ name: c.function.name, arguments: c.function.arguments, output: contentText(answered.find((m) => m.tool_call_id === c.id)?.content) }]
      : [],
  )
  return { body, round, outputs, allOutputs, calls }
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

/**
 * The first fenced code block of `text` that is Python or untagged (```python … ``` or ``` … ```,
 * also on one line), without its fences and closing newline; null when there is none.
 */
export function fencedCode(text: string): string | null {
  for (const m of text.matchAll(/```(?:[ \t]*([\w+-]*)[ \t]*\r?\n)?([\s\S]*?)```/g)) {
    const lang = (m[1] ?? '').toLowerCase()
    if (lang === '' || lang === 'python' || lang === 'py' || lang === 'python3') return (m[2] ?? '').replace(/\r?\n$/, '')
  }
  return null
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A function's arguments made up from its JSON Schema `parameters`, as a JSON string: every
 * `required` property gets a placeholder by its schema — its `enum[0]` (or `const`) if any, else by
 * `type`: string "example", number/integer 1, boolean true, array [], null null, object the same
 * made up from its own `required` properties ({} without). Optional properties are left out; a
 * missing or odd schema gives `{}`. Never throws.
 */
export function placeholderArguments(parameters: unknown): string {
  return JSON.stringify(placeholderObject(parameters))
}

function placeholderObject(schema: unknown): Record<string, unknown> {
  if (!isRecord(schema)) return {}
  const properties = isRecord(schema.properties) ? schema.properties : {}
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []
  return Object.fromEntries(required.map((name) => [name, placeholderValue(properties[name])]))
}

function placeholderValue(schema: unknown): unknown {
  if (!isRecord(schema)) return 'example'
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0]
  if ('const' in schema) return schema.const
  // `type: ["string", "null"]` (a nullable property): the placeholder of the non-null type.
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type
  switch (type) {
    case 'number':
    case 'integer':
      return 1
    case 'boolean':
      return true
    case 'array':
      return []
    case 'object':
      return placeholderObject(schema)
    case 'null':
      return null
    default:
      return 'example'
  }
}
