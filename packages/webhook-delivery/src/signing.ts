import { createHmac } from 'node:crypto'

/**
 * Standard Webhooks signing (HMAC-SHA256, `v1,` ids, `whsec_` secrets).
 *
 * Contract: a receiver verifies our requests with `new Webhook(secret).verify(body, headers)` from
 * `standardwebhooks`, or with `new OpenAI({ webhookSecret }).webhooks.unwrap(body, headers)`, the
 * same code it uses for OpenAI's own webhooks (both are exercised in signing.test.ts).
 */

const SECRET_PREFIX = 'whsec_'
/** The spec allows 24–64 byte keys; anything outside that is a bug or a truncated copy-paste. */
const MIN_KEY_BYTES = 24
const MAX_KEY_BYTES = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export const USER_AGENT = 'Threadwork-Webhooks/1'

/** Headers sent with every delivery attempt. */
export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
  'content-type': 'application/json'
  'user-agent': typeof USER_AGENT
}

// One implementation for the API (which creates secrets) and the dispatcher (which signs).
export { generateSigningSecret, secretHint } from '@threadwork/domain'

/**
 * Decodes a `whsec_` secret into its HMAC key.
 *
 * Why strict: verifiers disagree on anything else. `standardwebhooks` base64-decodes a secret
 * with or without the prefix (and rejects bad base64), while `openai`'s `unwrap` uses the UTF-8
 * bytes of a secret that lacks the prefix and decodes base64 leniently. Only a prefixed, valid
 * base64 secret means the same key to both.
 */
function decodeSecret(secret: string): Buffer {
  const known = decodedKeys.get(secret)
  if (known) return known
  const key = decodeSecretOnce(secret)
  // Bounded: the secrets in use (a project's and its endpoints', two during a rotation) are few.
  if (decodedKeys.size >= MAX_DECODED_KEYS) decodedKeys.clear()
  decodedKeys.set(secret, key)
  return key
}

/**
 * Secrets already checked and decoded: every attempt signs with one, and the check and base64
 * decode were redone per attempt (issue 14). Held only in memory, as the secrets themselves are.
 */
const decodedKeys = new Map<string, Buffer>()
const MAX_DECODED_KEYS = 1_000

function decodeSecretOnce(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError('webhook secret must start with whsec_')
  const encoded = secret.slice(SECRET_PREFIX.length)
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new TypeError('webhook secret is not valid base64')
  const key = Buffer.from(encoded, 'base64')
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new TypeError(`webhook secret must decode to ${MIN_KEY_BYTES}–${MAX_KEY_BYTES} bytes`)
  }
  return key
}

export type SignPayloadInput = {
  secret: string
  /** The event's idempotency key; constant across retries. Must not contain `.` (the separator). */
  msgId: string
  /** The attempt time; sent as integer Unix seconds. */
  timestamp: Date
  /** The exact body bytes sent (as a string); any re-serialisation breaks the signature. */
  body: string
}

/** `v1,<base64 HMAC-SHA256 of "${msgId}.${seconds}.${body}">`. */
export function signPayload({ secret, msgId, timestamp, body }: SignPayloadInput): string {
  if (msgId.length === 0 || msgId.includes('.') || /\s/.test(msgId)) {
    throw new TypeError('webhook msgId must be non-empty and contain no "." or whitespace')
  }
  const hmac = createHmac('sha256', decodeSecret(secret))
  hmac.update(`${msgId}.${unixSeconds(timestamp)}.${body}`, 'utf8')
  return `v1,${hmac.digest('base64')}`
}

export type BuildWebhookHeadersInput = Omit<SignPayloadInput, 'secret'> & {
  /** Current secret first, then the previous one while a rotation's grace period runs. */
  secrets: readonly string[]
}

/**
 * The Standard Webhooks headers for one attempt. Several secrets give several space-separated
 * signatures; receivers accept any match, so rotation needs no downtime.
 */
export function buildWebhookHeaders({ secrets, msgId, timestamp, body }: BuildWebhookHeadersInput): WebhookHeaders {
  if (secrets.length === 0) throw new TypeError('at least one webhook secret is required')
  const signatures = (secrets.length === 1 ? secrets : [...new Set(secrets)]).map((secret) => signPayload({ secret, msgId, timestamp, body }))
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(unixSeconds(timestamp)),
    'webhook-signature': signatures.join(' '),
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
  }
}

function unixSeconds(date: Date): number {
  const ms = date.getTime()
  if (!Number.isFinite(ms)) throw new TypeError('webhook timestamp is an invalid Date')
  return Math.floor(ms / 1000)
}
