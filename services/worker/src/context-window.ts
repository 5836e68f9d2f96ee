import type { RunLastError } from '@threadwork/domain'

/** Room kept for the reply inside the window when the run sets no `max_completion_tokens`. */
const DEFAULT_REPLY_RESERVE = 4_096

/**
 * Tokens of the window kept free for the reply: what is left of the run's `max_completion_tokens`,
 * else 4 096 — at most a quarter of the window, so a small window still leaves room for a prompt.
 */
export function replyReserve(windowTokens: number, completionBudget: number | null): number {
  return Math.min(completionBudget ?? DEFAULT_REPLY_RESERVE, Math.floor(windowTokens / 4))
}

/**
 * How to rebuild the prompt after the provider refused it as too long (one retry, issue 12 item 1):
 * within the window the provider named, if it named one, and in any case at most three quarters of
 * the prompt tokens sent — our count is an estimate of the provider's, so the retry must be
 * clearly smaller, not at the limit again. `window` is the model's window as now known (for the
 * error message); `buildWindow` and `reserve` are what to build the prompt with.
 */
export function tighterWindow(
  windowTokens: number,
  promptTokens: number,
  completionBudget: number | null,
  providerMax: number | null,
): { window: number; buildWindow: number; reserve: number } {
  const window = Math.min(windowTokens, providerMax ?? Number.POSITIVE_INFINITY)
  const reserve = replyReserve(window, completionBudget)
  const promptCap = Math.max(0, Math.min(window - reserve, Math.floor((promptTokens * 3) / 4)))
  return { window, buildWindow: promptCap + reserve, reserve }
}

/**
 * `last_error` of a run whose prompt cannot fit the model's window even truncated (the latest
 * message, the instructions and the tool rounds are never dropped), naming the window.
 * `promptTokens` null: the provider refused the truncated prompt as too long again.
 */
export function promptTooLarge(model: string, windowTokens: number, promptTokens: number | null, reserve: number): RunLastError {
  const why =
    promptTokens === null
      ? 'the provider refused it as too long again after truncation'
      : `its latest message, instructions and tool calls alone need about ${promptTokens} tokens, with ${reserve} kept for the reply`
  return { code: 'invalid_prompt', message: `The prompt does not fit the ${windowTokens}-token context window of model '${model}', even truncated: ${why}.` }
}
