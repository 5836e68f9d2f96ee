import type { Run } from '@threadwork/domain'
import type { ChatStreamRequest } from '@threadwork/model-client'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'

/**
 * Maps a run's settings onto a chat completions request. Only `function` tools reach the model:
 * code_interpreter and file_search need sandboxes and vector stores Threadwork does not host.
 */
export function toChatRequest(
  run: Run,
  messages: ChatCompletionMessageParam[],
  maxTokens: number | null,
  opts: { reasoningEffort?: string | null; maxTokensParam?: 'max_completion_tokens' | 'max_tokens' } = {},
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
  if (functions.length > 0 && run.tool_choice !== 'none') {
    request.tools = functions.map((t) => ({ type: 'function', function: { ...t.function, strict: t.function.strict ?? undefined } }))
    request.parallel_tool_calls = run.parallel_tool_calls
    const choice = run.tool_choice
    if (typeof choice === 'string') request.tool_choice = choice
    else if (choice.type === 'function' && choice.function) request.tool_choice = { type: 'function', function: { name: choice.function.name } }
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
