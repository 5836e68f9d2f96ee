export { DEFAULT_CONTEXT_WINDOW_TOKENS, Provider, createProviderRouter } from './provider-router.js'
export type { ProviderRouter, ProviderRouterOptions, ResolvedProvider } from './provider-router.js'
export { ProviderRoute, ProviderRoutesFile, ProviderSettings, compileModelMatcher, loadProviderRoutes, parseProviderRoutes } from './provider-routes.js'

export { STREAM_ENDED_EARLY, streamChatCompletion } from './chat-stream.js'
export type { ChatStreamRequest, ChatStreamResult, ChatUsage, FinishReason, StreamChatCompletionParams } from './chat-stream.js'

export { createToolCallNormalizer } from './tool-call-normalizer.js'
export type { RawToolCallDelta, ToolCall, ToolCallDelta, ToolCallNormalizer } from './tool-call-normalizer.js'
export { newCallId } from './call-id.js'

export { StreamInterruptedError, UpstreamError, classifyUpstreamError, describeErrorChain, contextLengthExceeded, isAbortError, retryAfterMs } from './upstream-errors.js'
export type { UpstreamAbort, UpstreamErrorClass, UpstreamErrorCode, UpstreamFailure } from './upstream-errors.js'
export { backoffDelay, withUpstreamRetries } from './upstream-retries.js'
export type { UpstreamRetryOptions } from './upstream-retries.js'
export { redactSecrets } from './redact.js'

export {
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_NAME,
  countChatMessageTokens,
  countMessageTokens,
  countPieceTokens,
  countTextTokens,
  warmUpTokenizer,
} from './token-counter.js'
export type { CountTokens } from './token-counter.js'

export { buildPrompt, imageFilePlaceholder, renderMessage, renderToolTurn } from './prompt-builder.js'
export type {
  BuildPromptParams,
  BuiltPrompt,
  PromptContentPart,
  PromptThreadMessage,
  ToolTurn,
  TruncationStrategyInput,
} from './prompt-builder.js'

export { ModelsCatalogError, createModelsCatalog } from './models-cache.js'
export { createModelCheck } from './model-check.js'
export type { ModelCheckOptions, ModelStatus } from './model-check.js'
export type { ModelsCatalog, ModelsCatalogOptions } from './models-cache.js'
export { routerFromSettings } from './router-from-env.js'
export type { UpstreamSettings } from './router-from-env.js'
