// Delivery primitives: signing, the SSRF-guarded dispatcher, one HTTP attempt, the retry policy.
// Pure or plain I/O; no Redis, no BullMQ (the delivery worker composes these). They live in
// @threadwork/webhook-delivery (shared with the worker's own callback attempts) and @threadwork/egress.
export {
  buildWebhookHeaders,
  generateSigningSecret,
  secretHint,
  signPayload,
  USER_AGENT,
  type BuildWebhookHeadersInput,
  type SignPayloadInput,
  type WebhookHeaders,
} from '@threadwork/webhook-delivery'
export {
  createSafeDispatcher,
  createSafeLookup,
  forbiddenReason,
  isForbiddenAddress,
  parseAllowList,
  SsrfBlockedError,
  type AllowList,
  type SafeDispatcherOptions,
  type SafeLookup,
  type SafeLookupOptions,
} from '@threadwork/egress'
export {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  sendWebhook,
  type SendWebhookInput,
  type SendWebhookResult,
} from '@threadwork/webhook-delivery'
export { parseRetryAfter } from '@threadwork/webhook-delivery'
export {
  classifyOutcome,
  DISABLE_AFTER_FAILING_MS,
  DISABLE_MIN_CONSECUTIVE_FAILURES,
  JITTER,
  MAX_ATTEMPTS,
  MAX_RETRY_AFTER_MS,
  nextDelayMs,
  RETRY_SCHEDULE_MS,
  shouldDisableEndpoint,
  type DeliveryOutcome,
  type EndpointFailureState,
} from '@threadwork/webhook-delivery'
