import { isIP } from 'node:net'
import { ApiError } from '@threadwork/domain'
import { type TargetChecker, createTargetChecker } from '@threadwork/egress'

/** What the API enforces when webhook targets are registered (endpoint `url`, turn `callback_url`). */
export interface WebhookPolicy {
  /** The registration-time SSRF check (`WEBHOOK_ALLOW_PRIVATE`); delivery checks again per attempt. */
  checkTarget: TargetChecker
  /** `WEBHOOK_MAX_ENDPOINTS_PER_PROJECT`. */
  maxEndpointsPerProject: number
}

/** Stripe's limit (16 endpoints per account): enough for real use, bounds one tenant's fan-out. */
export const DEFAULT_MAX_ENDPOINTS_PER_PROJECT = 16

/** The policy from settings; every field optional: no private target allowed, Stripe's endpoint cap. */
export const createWebhookPolicy = (
  opts: { allowPrivate?: readonly string[]; dnsTimeoutMs?: number; maxEndpointsPerProject?: number } = {},
): WebhookPolicy => ({
  checkTarget: rememberIpLiterals(createTargetChecker({ allowList: opts.allowPrivate ?? [], dnsTimeoutMs: opts.dnsTimeoutMs })),
  maxEndpointsPerProject: opts.maxEndpointsPerProject ?? DEFAULT_MAX_ENDPOINTS_PER_PROJECT,
})

/** Bounds the remembered verdicts; full, it starts again. */
const VERDICTS_KEPT = 1000

/**
 * The verdict on a URL whose host is an IP literal depends on nothing but the URL and the
 * allow-list, so it is kept: a turn's `callback_url` is usually the same few URLs, and judging one
 * (URL parse, ipaddr.js ranges, the allow-list) was ~6 % of the API's CPU on the turn path
 * (issue 14, profiled). Hostnames are judged each time (their addresses can change).
 */
function rememberIpLiterals(check: TargetChecker): TargetChecker {
  const verdicts = new Map<string, Awaited<ReturnType<TargetChecker>>>()
  return async (url) => {
    const known = verdicts.get(url)
    if (known !== undefined) return known
    const verdict = await check(url)
    if (isIpLiteralUrl(url)) {
      if (verdicts.size >= VERDICTS_KEPT) verdicts.clear()
      verdicts.set(url, verdict)
    }
    return verdict
  }
}

function isIpLiteralUrl(url: string): boolean {
  try {
    return isIP(new URL(url).hostname.replace(/^\[|\]$/g, '')) !== 0
  } catch {
    return false
  }
}
export const defaultWebhookPolicy = (): WebhookPolicy => createWebhookPolicy()

/**
 * Refuses a webhook URL that points at a private, loopback, link-local, … or cloud metadata
 * address with a 400 naming the parameter, the address, the reason, and the setting that allows
 * private targets (metadata: nothing does). Delivery checks again on every attempt (DNS changes).
 *
 * @throws ApiError 400 `code: "webhook_url_forbidden"`, `param` = `param`.
 */
export async function assertWebhookTarget(policy: WebhookPolicy, url: string, param: string): Promise<void> {
  const refused = await policy.checkTarget(url)
  if (!refused) return
  const { address, reason } = refused
  const host = (() => {
    try {
      return new URL(url).hostname.replace(/^\[|\]$/g, '')
    } catch {
      return address
    }
  })()
  const where = host === address ? `${param} points to ${address}` : `${param} resolves to ${address}`
  const message = refused.metadata
    ? `${where}, a cloud metadata address: webhooks may never target it (WEBHOOK_ALLOW_PRIVATE does not change this).`
    : `${where}, a ${reason} address: webhook targets must be public. For local development, the operator can allow it with WEBHOOK_ALLOW_PRIVATE (e.g. ${address.includes(':') ? `[${address}]` : address}:${portOf(url)}) on the api and webhooks services.`
  throw new ApiError(400, message, { param, code: 'webhook_url_forbidden' })
}

function portOf(url: string): string {
  try {
    const u = new URL(url)
    return u.port || (u.protocol === 'https:' ? '443' : '80')
  } catch {
    return '443'
  }
}
