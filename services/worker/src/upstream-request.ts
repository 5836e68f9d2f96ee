import type { Run } from '@threadwork/domain'
import type { ChatStreamRequest } from '@threadwork/model-client'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'

/**
 * Maps a run's settings onto a chat completions request. Only `function` tools reach the model:
 * code_interpreter and file_search need sandboxes and vector stores Threadwork does not host.
 */
export function toChatRequest(run: Run, messages: ChatCompletionMessageParam[], maxTokens: number | null): ChatStreamRequest {
  const functions = run.tools.flatMap((t) => (t.type === 'function' ? [t] : []))
  const request: ChatStreamRequest = { model: run.model, messages }
  if (run.temperature != null) request.temperature = run.temperature
  if (run.top_p != null) request.top_p = run.top_p
  // `max_tokens` rather than `max_completion_tokens`: every OpenAI-compatible server understands it.
  if (maxTokens !== null) request.max_tokens = maxTokens
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
