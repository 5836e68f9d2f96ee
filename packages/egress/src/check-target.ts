import { isIP } from 'node:net'
import { type HostResolver, createHostResolver, withDnsTimeout } from './resolve-host.js'
import { METADATA_REASON, forbiddenReason, judgeAddresses, parseAllowList } from './ssrf-guard.js'

/** Why a webhook URL was refused at registration. */
export type TargetRefusal = {
  /** The address judged (the literal host, or the resolved address). */
  address: string
  /** `loopback`, `private`, `cloud metadata`, … (ipaddr.js range names). */
  reason: string
  /** Metadata addresses are refused whatever `WEBHOOK_ALLOW_PRIVATE` says. */
  metadata: boolean
}

export type TargetChecker = (url: string) => Promise<TargetRefusal | null>

/**
 * The registration-time check of a webhook URL (endpoint `url`, turn `callback_url`): resolves the
 * host now and refuses private, loopback, metadata, … addresses the allow-list does not cover.
 * Delivery checks again on every attempt (DNS can change); this one exists so that a mistake is
 * a 400 at once rather than a silent failure later. A host DNS cannot resolve now (or in time) is
 * not refused here: only its address could tell, and delivery will judge it.
 *
 * @param allowList `WEBHOOK_ALLOW_PRIVATE` entries (CIDR, IP, hostname, optionally `:port`).
 */
export function createTargetChecker({ allowList = [], resolve, dnsTimeoutMs }: { allowList?: readonly string[]; resolve?: HostResolver; dnsTimeoutMs?: number } = {}): TargetChecker {
  const allowed = parseAllowList(allowList)
  const resolver = resolve ? withDnsTimeout(resolve, dnsTimeoutMs) : createHostResolver({ timeoutMs: dnsTimeoutMs })
  return async (raw) => {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return null // shape errors are the schema's to report
    }
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host)) {
      const reason = forbiddenReason(host, allowed, port)
      return reason ? { address: host, reason, metadata: reason === METADATA_REASON } : null
    }
    const addresses = await new Promise<string[]>((done) => resolver(host, { all: true }, (err, list) => done(err ? [] : list.map((a) => a.address))))
    const refused = judgeAddresses(host, addresses, allowed, port)
    return refused ? { ...refused, metadata: refused.reason === METADATA_REASON } : null
  }
}
