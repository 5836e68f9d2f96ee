// One signed webhook attempt and what it needs: signing, one POST, the retry policy, the attempt's
// bookkeeping (record, 410, pause, disable) and the delivery job's shape. Shared by the webhook
// dispatcher (services/webhooks) and the worker's own callback attempts (services/worker
// direct-callbacks.ts); the SSRF guard is @threadwork/egress.
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
export { FIRST_PAUSE_MS, MAX_PAUSE_MS, pauseMs } from './pause.js'
export { tickBatch } from './tick-batch.js'
export {
  createAttempt,
  resolveTarget,
  type Attempt,
  type AttemptDeps,
  type AttemptInput,
  type AttemptResult,
  type AttemptTarget,
  type RefusedAttempt,
  type Settled,
  type SkipReason,
} from './attempt.js'
export { type DeliveryJob, GROUP, deliveryJob, deliveryJobId, jobOptions, KEEP_COMPLETED, KEEP_FAILED } from './jobs.js'
export { createFirstAttemptSlots, type FirstAttemptSlots, type FirstAttemptSlotsDeps, type HeldSlot, SLOT_LINGER_MS } from './first-attempt-slots.js'
