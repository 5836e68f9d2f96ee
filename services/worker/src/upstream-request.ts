import type { Run } from '@threadwork/domain'
import type { ChatStreamRequest } from '@threadwork/model-client'
import type { ChatCompletionFunctionTool, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { BuiltinType } from './tools/builtin-tool.js'

/** A built-in tool offered to the model this round, as a function tool under its own name. */
export interface OfferedBuiltin {
  type: BuiltinType
  tool: ChatCompletionFunctionTool
}

/**
 * Maps a run's settings onto a chat completions request. The run's `function` tools go as they
 * are; `file_search` and `code_interpreter` go as the function tools their executors offer
 * (`opts.offered`), and `tool_choice: {type: "file_search"}` names that function. A forced built-in
 * is forced once (`opts.firstRound`): after its call the model answers freely, or it would call
 * it again forever.
 */
export function toChatRequest(
  run: Run,
  messages: ChatCompletionMessageParam[],
  maxTokens: number | null,
  opts: {
    reasoningEffort?: string | null
    maxTokensParam?: 'max_completion_tokens' | 'max_tokens'
    /** Built-in tools offered this round. */
    offered?: readonly OfferedBuiltin[]
    /** False after the run's first tool round: a forced built-in is forced once. */
    firstRound?: boolean
  } = {},
): ChatStreamRequest {
  const functions = run.tools.flatMap((t) => (t.type === 'function' ? [t] : []))
  const request: ChatStreamRequest = { model: run.model, messages }
  if (run.temperature != null) request.temperature = run.temperature
  if (run.top_p != null) request.top_p = run.top_p
  // OpenAI's name (its reasoning models refuse `max_tokens`); a route may ask for the older name.
  if (maxTokens !== null) {
    if (opts.maxTokensParam === 'max_tokens') request.max_tokens = maxTokens
    else request.max_completion_tokens = maxTokens
  }
  // Only when set (the run's, else the assistant's): servers without reasoning models never see it.
  if (opts.reasoningEffort) request.reasoning_effort = opts.reasoningEffort as ChatStreamRequest['reasoning_effort']
  const offered = opts.offered ?? []
  if ((functions.length > 0 || offered.length > 0) && run.tool_choice !== 'none') {
    request.tools = [
      ...functions.map((t): ChatCompletionFunctionTool => ({ type: 'function', function: { ...t.function, strict: t.function.strict ?? undefined } })),
      ...offered.map((o) => o.tool),
    ]
    request.parallel_tool_calls = run.parallel_tool_calls
    const choice = run.tool_choice
    if (typeof choice === 'string') request.tool_choice = choice
    else if (choice.type === 'function' && choice.function) request.tool_choice = { type: 'function', function: { name: choice.function.name } }
    else if (choice.type !== 'function') {
      const builtin = offered.find((o) => o.type === choice.type)
      request.tool_choice = builtin && opts.firstRound !== false ? { type: 'function', function: { name: builtin.tool.function.name } } : 'auto'
    }
  }
  const format = run.response_format
  if (format !== 'auto' && format.type !== 'text') {
    request.response_format =
      format.type === 'json_object'
        ? { type: 'json_object' }
        : { type: 'json_schema', json_schema: { ...format.json_schema, strict: format.json_schema.strict ?? undefined } }
  }
  return request
}
