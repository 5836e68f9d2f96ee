import type { Assistant } from './resources/assistant.js'
import type { Run, RunCreateParams } from './resources/run.js'

/** The run-level settings shared by create-run, create-thread-and-run and turns. */
export type RunSettings = Omit<RunCreateParams, 'assistant_id' | 'additional_messages' | 'additional_instructions' | 'stream' | 'reasoning_effort'>

/**
 * The assistant's fields a run is made of (`newRun`; `reasoning_effort` for the run's internal
 * settings), besides its id: a turn started from a cached assistant checks in the same step that
 * these are still as cached (storage startTurn-7.lua), so a change to any other field (name,
 * description, metadata) does not cost a read. The worker's start-turn test holds the start to it.
 */
export const RUN_ASSISTANT_FIELDS = ['model', 'instructions', 'tools', 'tool_resources', 'temperature', 'top_p', 'response_format', 'reasoning_effort'] as const

/**
 * A new `queued` run: every field OpenAI echoes, with the effective values (the override, else the
 * assistant's, else OpenAI's default) — research/assistants-v2-surface.md §5.3.
 */
export function newRun(args: {
  id: string
  threadId: string
  assistant: Assistant
  settings: RunSettings
  createdAt: number
  expiresAfterSeconds: number
}): Run {
  const { assistant, settings: s } = args
  return {
    id: args.id,
    object: 'thread.run',
    created_at: args.createdAt,
    thread_id: args.threadId,
    assistant_id: assistant.id,
    status: 'queued',
    required_action: null,
    last_error: null,
    expires_at: args.createdAt + args.expiresAfterSeconds,
    started_at: null,
    cancelled_at: null,
    failed_at: null,
    completed_at: null,
    incomplete_details: null,
    model: s.model ?? assistant.model,
    instructions: s.instructions ?? assistant.instructions ?? '',
    tools: s.tools ?? assistant.tools,
    metadata: s.metadata ?? {},
    usage: null,
    temperature: s.temperature ?? assistant.temperature ?? 1,
    top_p: s.top_p ?? assistant.top_p ?? 1,
    max_prompt_tokens: s.max_prompt_tokens ?? null,
    max_completion_tokens: s.max_completion_tokens ?? null,
    truncation_strategy: { type: s.truncation_strategy?.type ?? 'auto', last_messages: s.truncation_strategy?.last_messages ?? null },
    tool_choice: s.tool_choice ?? 'auto',
    parallel_tool_calls: s.parallel_tool_calls ?? true,
    response_format: s.response_format ?? assistant.response_format ?? 'auto',
    tool_resources: assistant.tool_resources ?? {},
  }
}
