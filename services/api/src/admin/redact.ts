/**
 * What the queue dashboard may show of a job's data, return value or progress. Our payloads hold
 * ids only (style §13), but BullMQ stores job data in clear text and the dashboard shows it to
 * anyone with the admin token, so anything that could be content or a secret is masked anyway:
 * values under content- or secret-like keys, and long strings that are not ids.
 */
const SENSITIVE_KEY =
  /content|text|message|body|payload|prompt|instruction|secret|token|password|passwd|api[-_]?key|authorization|cookie|header|signature|credential|url/i
/** `run_…`, `thread_…`, `evt_…`, stream entry ids `1718-0`: our ids, and the names jobs carry. */
const ID_LIKE = /^[A-Za-z0-9]+([_.:-][A-Za-z0-9]+)*$/
/** Key-shaped values (OpenAI `sk-…`, webhook `whsec_…`) are masked wherever they appear. */
const SECRET_VALUE = /^(sk|pk|rk|whsec|ghp|xox[abp])[-_]/i
const MAX_PLAIN = 128
export const REDACTED = '[redacted]'

export function redactJobData(value: unknown, key = '', depth = 0): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value
  if (depth > 8) return REDACTED
  if (typeof value === 'string') {
    if (key && SENSITIVE_KEY.test(key) && !isIdKey(key)) return REDACTED
    return value.length <= MAX_PLAIN && ID_LIKE.test(value) && !SECRET_VALUE.test(value) ? value : REDACTED
  }
  if (Array.isArray(value)) return value.map((v) => redactJobData(v, key, depth + 1))
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) =>
        SENSITIVE_KEY.test(k) && !isIdKey(k) && typeof v === 'object' && v !== null ? [k, REDACTED] : [k, redactJobData(v, k, depth + 1)],
      ),
    )
  }
  return REDACTED
}

/** `messageId`, `textId`, `runId`: an id field, even when the word before it sounds sensitive. */
const isIdKey = (k: string) => /(^|_)id$|Id$|^id$/.test(k)
