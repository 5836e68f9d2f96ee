import { randomBytes } from 'node:crypto'
import { z } from '@hono/zod-openapi'
import { deletedOf, listOf } from '../shared.js'

/**
 * Webhook endpoints, wire-compatible with openai-node 7.x `client.webhooks.*` (resources/webhooks):
 * `create|retrieve|update|list|delete|rotateSecret|test` and `eventTypes.list`. Threadwork adds the
 * endpoint's `status` (an endpoint that answers 410 or keeps failing is disabled, with the reason
 * recorded), the delivery log, manual redelivery, and the project signing secret for turn
 * `callback_url`s. The wire shapes of those extensions are below; services/webhooks/README.md
 * explains the delivery machinery.
 */

/** Every event type Threadwork emits (the worker appends them to the outbox; see services/webhooks). */
/** Every event type a commit records (run and turn terminal states, requires_action, messages). */
export const WEBHOOK_EVENT_TYPES = [
  'thread.run.requires_action',
  'thread.run.cancelling',
  'thread.run.completed',
  'thread.run.incomplete',
  'thread.run.failed',
  'thread.run.cancelled',
  'thread.run.expired',
  'thread.message.completed',
  'thread.message.incomplete',
  'thread.turn.requires_action',
  'thread.turn.completed',
  'thread.turn.incomplete',
  'thread.turn.failed',
  'thread.turn.cancelled',
  'thread.turn.expired',
] as const
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES).openapi('WebhookEventType')
export type WebhookEventType = z.infer<typeof WebhookEventType>

const SECRET_PREFIX = 'whsec_'

/** A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks, as OpenAI's). */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/**
 * A recognisable but non-secret form of a secret (`whsec_abc…xyz`) for the API and logs. Six
 * base64 characters reveal 36 of 256 bits, so the hint cannot be used to sign.
 */
export function secretHint(secret: string): string {
  // Padding is the same for every 32-byte secret, so it would waste a character of the hint.
  const body = (secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret).replace(/=+$/, '')
  // A short string is probably not a real secret; showing both ends would show most of it.
  if (body.length < 16) return `${SECRET_PREFIX}…`
  return `${SECRET_PREFIX}${body.slice(0, 3)}…${body.slice(-3)}`
}

/** How long a rotated-out secret keeps signing when the client asks for a grace period. */
export const SECRET_GRACE_SECONDS = 24 * 60 * 60

const URL_MAX = 2048

/**
 * Verdicts of {@link webhookUrlProblem} by URL: it depends on the text alone, and a turn's
 * `callback_url` is usually one of a few URLs, judged on every turn POST (a WHATWG URL parse, ~1 %
 * of the API's busy time in the cost bench, issue 14). Bounded: at most `VERDICTS_KEPT` URLs of at
 * most `VERDICT_URL_MAX` characters (~0.3 MB); full, it starts again.
 */
const verdicts = new Map<string, string | null>()
const VERDICTS_KEPT = 1000
const VERDICT_URL_MAX = 256

/**
 * Why a webhook URL is refused at registration, or null. Only the shape is checked here: http(s),
 * a host, no credentials. Private and internal addresses are refused at delivery time, after DNS
 * (services/webhooks ssrf-guard), because only then is the address known.
 */
export function webhookUrlProblem(raw: string): string | null {
  const known = verdicts.get(raw)
  if (known !== undefined) return known
  const problem = judgeWebhookUrl(raw)
  if (raw.length <= VERDICT_URL_MAX) {
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear()
    verdicts.set(raw, problem)
  }
  return problem
}

function judgeWebhookUrl(raw: string): string | null {
  if (raw.length > URL_MAX) return `must be at most ${URL_MAX} characters`
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute http(s) URL'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use the https or http scheme'
  if (!url.hostname) return 'must name a host'
  if (url.username || url.password) return 'must not contain credentials'
  return null
}

export const WebhookUrl = z
  .string()
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: `Invalid 'url': ${problem}.`, params: { openai: { code: 'invalid_url' } } })
  })
  .openapi({ description: 'An http(s) URL without credentials; https in production.', example: 'https://example.com/webhooks' })

const EventTypes = z
  .array(WebhookEventType)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((types) => [...new Set(types)])

export const WebhookEndpointStatus = z.enum(['enabled', 'disabled']).openapi('WebhookEndpointStatus')
export type WebhookEndpointStatus = z.infer<typeof WebhookEndpointStatus>

const endpointFields = {
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  created_at: z.number().int(),
  /** Last configuration or signing-secret change (OpenAI: tests and unchanged updates do not advance it). */
  updated_at: z.number().int(),
  name: z.string(),
  url: z.string(),
  // Parsed leniently: an endpoint stored before a type was retired still reads back.
  event_types: z.array(z.string()),
  signing_secret_hint: z.string().nullable(),
  /** Threadwork: `disabled` endpoints receive nothing until set back to `enabled`. */
  status: WebhookEndpointStatus,
  /** Threadwork: why the endpoint was disabled (410 Gone, days of failures, or by request). */
  disabled_reason: z.string().nullable(),
  disabled_at: z.number().int().nullable(),
  /**
   * Threadwork: set while delivery to a failing endpoint is paused (Unix seconds). Events wait,
   * none is dropped; the first attempt after it is a probe, and a success lifts the pause.
   */
  paused_until: z.number().int().nullable().default(null),
  /** Threadwork: why delivery is paused (how many attempts in a row failed, and since when). */
  paused_reason: z.string().nullable().default(null),
}

export const WebhookEndpoint = z.object(endpointFields).openapi('WebhookEndpoint')
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>

/** Returned by create and rotate only: the one time the secret is shown. */
export const WebhookEndpointWithSecret = z.object({ ...endpointFields, signing_secret: z.string() }).openapi('WebhookEndpointWithSecret')
export type WebhookEndpointWithSecret = z.infer<typeof WebhookEndpointWithSecret>

export const WebhookCreateParams = z
  .strictObject({
    url: WebhookUrl,
    name: z.string().min(1).max(256),
    event_types: EventTypes,
  })
  .openapi('CreateWebhookEndpointRequest')
export type WebhookCreateParams = z.infer<typeof WebhookCreateParams>

export const WebhookUpdateParams = z
  .strictObject({
    url: WebhookUrl.optional(),
    name: z.string().min(1).max(256).optional(),
    /** The complete set of event types (replaces the old set). */
    event_types: EventTypes.optional(),
    /** Threadwork: `enabled` re-enables a disabled endpoint (clearing the reason); `disabled` pauses it. */
    status: WebhookEndpointStatus.optional(),
  })
  .openapi('UpdateWebhookEndpointRequest')
export type WebhookUpdateParams = z.infer<typeof WebhookUpdateParams>

export const WebhookRotateSecretParams = z
  .strictObject({
    /** OpenAI's semantics: false (the default) invalidates the previous secret at once. */
    keep_old_secret_active_for_24_hours: z.boolean().optional(),
  })
  .openapi('RotateWebhookSecretRequest')
export type WebhookRotateSecretParams = z.infer<typeof WebhookRotateSecretParams>

export const WebhookTestParams = z.strictObject({ event_type: WebhookEventType }).openapi('TestWebhookEndpointRequest')
export type WebhookTestParams = z.infer<typeof WebhookTestParams>

/**
 * The answer to `POST /webhook_endpoints/{id}/test`. OpenAI's carries the receiver's status; ours
 * answers at once (a slow receiver or a busy dispatcher must not hold the request), so
 * `status_code` is null and the outcome is the delivery log's attempt with this `event_id`
 * (`trigger: "test"`).
 */
export const WebhookEndpointTestResult = z
  .object({
    object: z.literal('webhook_endpoint.test'),
    event_type: z.string(),
    status_code: z.number().int().nullable(),
    success: z.literal(true),
    webhook_endpoint_id: z.string(),
    /** Threadwork: the test is queued; its attempt appears in `GET /webhook_endpoints/{id}/deliveries`. */
    status: z.literal('queued'),
    /** Threadwork: the sample event's id (the attempt's `event_id` and `webhook-id` header). */
    event_id: z.string(),
  })
  .openapi('WebhookEndpointTestResult')
export type WebhookEndpointTestResult = z.infer<typeof WebhookEndpointTestResult>

export const DeletedWebhookEndpoint = deletedOf('webhook_endpoint.deleted').openapi('DeletedWebhookEndpoint')
export type DeletedWebhookEndpoint = z.infer<typeof DeletedWebhookEndpoint>

export const WebhookEndpointList = listOf(WebhookEndpoint).openapi('WebhookEndpointList')

export const WebhookEventTypeList = z
  .object({ object: z.literal('list'), data: z.array(z.string()) })
  .openapi('WebhookEventTypeList')
export type WebhookEventTypeList = z.infer<typeof WebhookEventTypeList>

/** Threadwork: what caused an attempt. `event` covers automatic retries too. */
export const WebhookDeliveryTrigger = z.enum(['event', 'retry', 'test'])
export type WebhookDeliveryTrigger = z.infer<typeof WebhookDeliveryTrigger>

/**
 * Threadwork: one delivery attempt (one HTTP POST) of one event to one endpoint, or to a turn's
 * `callback_url` (then `webhook_endpoint_id` is null). Listed newest first; the last 1,000 per
 * endpoint are kept.
 */
export const WebhookDelivery = z
  .object({
    id: z.string(),
    object: z.literal('webhook_delivery'),
    created_at: z.number().int(),
    webhook_endpoint_id: z.string().nullable(),
    url: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    thread_id: z.string().nullable(),
    /** 1 for the first attempt of this event at this endpoint; manual retries continue the count. */
    attempt: z.number().int(),
    trigger: WebhookDeliveryTrigger,
    status: z.enum(['succeeded', 'failed']),
    /** The receiver's HTTP status, or null when none arrived (timeout, refused, connection error). */
    response_status_code: z.number().int().nullable(),
    latency_ms: z.number().int(),
    /** `timeout`, `connection_error: …`, `ssrf_blocked: …`, `http_<status>`, `redirect_not_followed`, … */
    error: z.string().nullable(),
    /** When the next automatic attempt is due; null when none will follow. */
    next_attempt_at: z.number().int().nullable(),
  })
  .openapi('WebhookDelivery')
export type WebhookDelivery = z.infer<typeof WebhookDelivery>

export const WebhookDeliveryList = listOf(WebhookDelivery).openapi('WebhookDeliveryList')

/** Threadwork: the answer to a manual redelivery; the send happens asynchronously. */
export const WebhookDeliveryRetry = z
  .object({
    object: z.literal('webhook_delivery.retry'),
    delivery_id: z.string(),
    webhook_endpoint_id: z.string().nullable(),
    event_id: z.string(),
    status: z.literal('scheduled'),
  })
  .openapi('WebhookDeliveryRetry')
export type WebhookDeliveryRetry = z.infer<typeof WebhookDeliveryRetry>

/**
 * Threadwork: the project's secret for turn `callback_url` deliveries (created on first use).
 * Returned in full: any key of the project may read it, since the receiver needs it to verify.
 */
export const WebhookSigningSecret = z
  .object({
    object: z.literal('webhook_signing_secret'),
    /** The whole secret: only in the answer that created it and in a rotation's (as endpoint secrets). */
    signing_secret: z.string().optional(),
    signing_secret_hint: z.string(),
    created_at: z.number().int(),
    /** While set and in the future, the previous secret signs too (a second `v1,` signature). */
    previous_secret_expires_at: z.number().int().nullable(),
  })
  .openapi('WebhookSigningSecret')
export type WebhookSigningSecret = z.infer<typeof WebhookSigningSecret>
