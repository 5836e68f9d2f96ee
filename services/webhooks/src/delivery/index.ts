// Delivery primitives: signing, the SSRF-guarded dispatcher, one HTTP attempt, the retry policy.
// Pure or plain I/O; no Redis, no BullMQ (the delivery worker composes these).
export {
  buildWebhookHeaders,
  generateSigningSecret,
  secretHint,
  signPayload,
  USER_AGENT,
  type BuildWebhookHeadersInput,
  type SignPayloadInput,
  type WebhookHeaders,
} from './signing.js'
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
} from './send-webhook.js'
export { parseRetryAfter } from './retry-after.js'
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
} from './retry-policy.js'
