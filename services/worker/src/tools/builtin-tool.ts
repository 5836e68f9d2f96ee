import type { CodeInterpreterToolCall, FileSearchToolCall, Run } from '@threadwork/domain'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import type { RunResources } from './run-resources.js'

/** The Assistants tools the worker executes itself (no `requires_action`). */
export type BuiltinType = 'file_search' | 'code_interpreter'

/** A call the model made to a built-in's function, as the model client assembled it. */
export interface BuiltinCall {
  id: string
  name: string
  arguments: string
}

/** What a built-in tool sees of the run it serves. */
export interface BuiltinContext {
  project: string
  run: Run
  /** Aborted on cancel, expiry and shutdown: an execution in progress stops. */
  signal: AbortSignal
  resources: RunResources
  /** How many calls of this tool the run completed before this one (file_search numbers its markers with it). */
  ordinal: number
  /** Streams a delta of this call (`{outputs: [...]}`), shown live on the run's step. */
  emit(body: Record<string, unknown>): void
}

/** A file a built-in made or cited, remembered with the step for the run's final message. */
export interface BuiltinRefs {
  /** file_search: `<call>:<result>` of a source marker handed to the model (`【0:2†manual.md】` → `0:2`) → the file it came from. */
  citations?: Record<string, string>
  /** code_interpreter: `/mnt/data/<name>` paths written by the code → the Files made of them. */
  files?: Record<string, string>
  /** code_interpreter: images the code displayed (File ids), shown as `image_file` parts of the reply. */
  images?: string[]
}

export interface BuiltinResult {
  /** The call as the run step records it (OpenAI's step_details shape). */
  call: CodeInterpreterToolCall | FileSearchToolCall
  /** What the model reads as the call's output in its next round. */
  output: string
  refs?: BuiltinRefs
}

/**
 * One built-in tool: how it is offered to the model (a function tool under its own name), and how
 * a call is executed. Adding a tool is one more module of this shape; the run executor does not
 * know any tool's internals.
 */
export interface BuiltinTool {
  readonly type: BuiltinType
  /** The function name the model calls it by. */
  readonly name: string
  /** The function tool to offer for this round, or null when the run cannot use it (e.g. no vector store). */
  offer(run: Run, resources: RunResources): ChatCompletionFunctionTool | null
  /** Runs one call. An error in the user's code is an output; an unusable backend throws {@link ToolUnavailableError}. */
  execute(call: BuiltinCall, ctx: BuiltinContext): Promise<BuiltinResult>
}

/**
 * A built-in tool's backend cannot serve the run (sandbox unreachable or not installed, search
 * index broken): the run fails with `server_error` and this message, which says what is wrong.
 */
export class ToolUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ToolUnavailableError'
  }
}
