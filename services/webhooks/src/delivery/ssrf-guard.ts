import { lookup as dnsLookup } from 'node:dns'
import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { Agent, buildConnector } from 'undici'

/**
 * SSRF guard for customer-supplied webhook URLs (research §4.6).
 *
 * The check runs at connect time on the addresses the socket will actually use: our `lookup`
 * resolves once, refuses the whole answer if any address is forbidden, and hands exactly the
 * checked addresses to the socket. A DNS-rebinding server gets no second resolution to swap.
 * Node skips `lookup` for literal IP hosts (asserted in ssrf-guard.test.ts), so the connector
 * checks those itself before dialling.
 *
 * Defence in depth still belongs in the network: an egress proxy or a policy that keeps
 * delivery pods away from the cluster and the metadata service.
 */

/** Thrown (as a connect error) when a destination is refused; `sendWebhook` reports `ssrf_blocked: …`. */
export class SsrfBlockedError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED'
  constructor(message: string) {
    super(message)
    this.name = 'SsrfBlockedError'
  }
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6
type Cidr = [Addr, number]

/** A parsed allow-list: CIDRs (a bare IP is a /32 or /128) and exact hostnames. */
export type AllowList = { cidrs: Cidr[]; hostnames: Set<string> }

/**
 * Cloud metadata endpoints, refused even when an allow-list entry covers them: no local-dev
 * setup needs them, and they hand out credentials. (AWS/GCP/Azure 169.254.169.254, AWS ECS task
 * metadata 169.254.170.2, AWS IPv6 IMDS fd00:ec2::254, Alibaba 100.100.100.200, Oracle 192.0.0.192.)
 */
const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']
  .map((ip) => ipaddr.parse(ip).toNormalizedString())

// NAT64's well-known prefix carries an IPv4 address in its last 32 bits; judge that address.
const NAT64_WELL_KNOWN: Cidr = ipaddr.parseCIDR('64:ff9b::/96')

/** Parses allow-list entries: CIDRs (`10.0.0.0/8`), IPs (`127.0.0.1`) or hostnames (`localhost`). */
export function parseAllowList(entries: readonly string[] = []): AllowList {
  const list: AllowList = { cidrs: [], hostnames: new Set() }
  for (const raw of entries) {
    const entry = raw.trim()
    if (ipaddr.isValidCIDR(entry)) {
      const [addr, bits] = ipaddr.parseCIDR(entry)
      list.cidrs.push(unmapCidr(addr, bits))
    } else if (isIP(entry)) {
      const addr = unmap(ipaddr.parse(entry))
      list.cidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128])
    } else if (entry.length > 0) {
      list.hostnames.add(normalizeHostname(entry))
    }
  }
  return list
}

/**
 * Why `ip` may not be dialled (`'loopback'`, `'private'`, `'cloud metadata'`, …), or null if it
 * may. Anything that does not parse as an IP is refused.
 */
export function forbiddenReason(ip: string, allowList: AllowList): string | null {
  if (!isIP(ip)) return 'not an IP address'
  const addr = unmap(ipaddr.parse(ip))
  if (METADATA_ADDRESSES.includes(addr.toNormalizedString())) return 'cloud metadata'
  if (allowList.cidrs.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) return null
  return rangeReason(addr, allowList)
}

/** True when `ip` must not be dialled; `allowList` entries are CIDRs, IPs or hostnames. */
export function isForbiddenAddress(ip: string, allowList: readonly string[] = []): boolean {
  return forbiddenReason(ip, parseAllowList(allowList)) !== null
}

function rangeReason(addr: Addr, allowList: AllowList): string | null {
  if (addr.kind() === 'ipv4') {
    const range = addr.range()
    // ipaddr.js calls every IPv4 outside its special ranges (RFC 1918, 127/8, 169.254/16,
    // 100.64/10, 0/8, multicast, broadcast, reserved, …) 'unicast'.
    return range === 'unicast' ? null : range
  }
  const v6 = addr as ipaddr.IPv6
  const range = v6.range()
  if (range === 'unicast') {
    // The deprecated IPv4-compatible form ::a.b.c.d is 'unicast' to ipaddr.js.
    return v6.parts.slice(0, 6).every((part) => part === 0) ? 'ipv4-compatible' : null
  }
  if (range === 'rfc6052' && v6.match(NAT64_WELL_KNOWN)) return embeddedReason(v6.parts[6], v6.parts[7], allowList)
  // 6to4 (2002:AABB:CCDD::/48) reaches the IPv4 address AABB:CCDD through a relay.
  if (range === '6to4') return embeddedReason(v6.parts[1], v6.parts[2], allowList)
  // Everything else: loopback, uniqueLocal (fc00::/7), linkLocal, multicast, unspecified,
  // teredo, rfc6145, reserved, the local-use NAT64 prefix, …
  return range
}

function embeddedReason(hi: number | undefined, lo: number | undefined, allowList: AllowList): string | null {
  const v4 = new ipaddr.IPv4([(hi ?? 0) >> 8, (hi ?? 0) & 0xff, (lo ?? 0) >> 8, (lo ?? 0) & 0xff])
  const reason = forbiddenReason(v4.toString(), allowList)
  return reason === null ? null : `embeds ${v4.toString()} (${reason})`
}

/** ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket; judge it (and allow-list it) as IPv4. */
function unmap(addr: Addr): Addr {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr
}

function unmapCidr(addr: Addr, bits: number): Cidr {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]
  }
  return [addr, bits]
}

function normalizeHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '')
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
/** The `lookup` that `net.connect`/`tls.connect` accept. */
export type SafeLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void
type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

export type SafeLookupOptions = {
  /** CIDRs, IPs or hostnames permitted even if private (local development). */
  allowList?: readonly string[]
  /** DNS resolution; `dns.lookup` unless a test injects answers. */
  resolve?: Resolver
}

/**
 * A `lookup` for `net.connect`/`tls.connect` that resolves every address and fails with
 * `SsrfBlockedError` if any one is forbidden (a mixed answer could otherwise be raced to the
 * private one). Also usable with `node:https` agents.
 */
export function createSafeLookup({ allowList = [], resolve = dnsLookup }: SafeLookupOptions = {}): SafeLookup {
  const allowed = parseAllowList(allowList)
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, [])
      const first = addresses[0]
      if (!first) return callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), [])
      if (!allowed.hostnames.has(normalizeHostname(hostname))) {
        for (const { address } of addresses) {
          const reason = forbiddenReason(address, allowed)
          if (reason) return callback(new SsrfBlockedError(`${hostname} resolved to ${address} (${reason})`), [])
        }
      }
      // Node asks for all addresses when it races IPv4/IPv6 (autoSelectFamily), else for one.
      if (options.all) callback(null, addresses)
      else callback(null, first.address, first.family)
    })
  }
}

export type SafeDispatcherOptions = {
  /** CIDRs, IPs or hostnames permitted even if private (local development). Empty in production. */
  allowList?: readonly string[]
  /** TCP/TLS connect timeout; undici's default is 10 s. */
  connectTimeoutMs?: number
}

/**
 * An undici `Agent` that refuses to connect to loopback, private, link-local, CGNAT, reserved,
 * multicast, unspecified, metadata and IPv4-mapped forms of those, for hostnames (after DNS) and
 * literal IPs alike. Pass it as `dispatcher` to undici's `request`/`fetch`.
 */
export function createSafeDispatcher({ allowList = [], connectTimeoutMs }: SafeDispatcherOptions = {}): Agent {
  const allowed = parseAllowList(allowList)
  const connector = buildConnector({
    lookup: createSafeLookup({ allowList }),
    ...(connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs }),
  })
  return new Agent({
    connect: (options, callback) => {
      // undici strips IPv6 brackets before calling the connector, so isIP sees the bare address.
      if (isIP(options.hostname)) {
        const reason = forbiddenReason(options.hostname, allowed)
        if (reason) return callback(new SsrfBlockedError(`${options.hostname} is ${reason}`), null)
      }
      connector(options, callback)
    },
  })
}
