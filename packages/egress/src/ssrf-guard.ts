import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { Agent, buildConnector } from 'undici'
import { type HostResolver, createHostResolver, withDnsTimeout } from './resolve-host.js'

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

/** One allow-list entry; `port` null covers every port. */
type CidrEntry = { net: Addr; bits: number; port: number | null }
type HostEntry = { name: string; port: number | null }

/**
 * A parsed `WEBHOOK_ALLOW_PRIVATE`: CIDRs (a bare IP is a /32 or /128) and exact hostnames, each
 * optionally narrowed to one port (`127.0.0.1:9000`, `[::1]:9000`, `localhost:9000`).
 */
export type AllowList = { cidrs: CidrEntry[]; hostnames: HostEntry[] }

/**
 * Cloud metadata endpoints, refused whatever the allow-list says (CIDR, IP or hostname entry):
 * no local-dev setup needs them, and they hand out credentials. (AWS/GCP/Azure 169.254.169.254,
 * AWS ECS task metadata 169.254.170.2, AWS IPv6 IMDS fd00:ec2::254, Alibaba 100.100.100.200,
 * Oracle 192.0.0.192.)
 */
const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']
  .map((ip) => ipaddr.parse(ip).toNormalizedString())

/** The reason string for a metadata address; registration errors say "never allowed" for it. */
export const METADATA_REASON = 'cloud metadata'

// NAT64's well-known prefix carries an IPv4 address in its last 32 bits; judge that address.
const NAT64_WELL_KNOWN: Cidr = ipaddr.parseCIDR('64:ff9b::/96')

/** Splits `host:port` / `[v6]:port`; a bare IPv6 address (several colons) has no port. */
function splitPort(entry: string): { host: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry)
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : null }
  const hostPort = /^([^:/]+):(\d{1,5})$/.exec(entry)
  if (hostPort) return { host: hostPort[1]!, port: Number(hostPort[2]) }
  return { host: entry, port: null }
}

/**
 * Parses allow-list entries: CIDRs (`10.0.0.0/8`), IPs (`127.0.0.1`), hostnames (`localhost`),
 * and the narrowest form, one host and port (`127.0.0.1:9000`, `[::1]:9000`, `localhost:9000`).
 */
export function parseAllowList(entries: readonly string[] = []): AllowList {
  const list: AllowList = { cidrs: [], hostnames: [] }
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry.length === 0) continue
    if (ipaddr.isValidCIDR(entry)) {
      const [addr, bits] = ipaddr.parseCIDR(entry)
      const [net, b] = unmapCidr(addr, bits)
      list.cidrs.push({ net, bits: b, port: null })
      continue
    }
    const { host, port } = splitPort(entry)
    if (isIP(host)) {
      const addr = unmap(ipaddr.parse(host))
      list.cidrs.push({ net: addr, bits: addr.kind() === 'ipv4' ? 32 : 128, port })
    } else {
      list.hostnames.push({ name: normalizeHostname(host), port })
    }
  }
  return list
}

const portMatches = (entryPort: number | null, port: number | undefined) => entryPort === null || (port !== undefined && entryPort === port)

/** True when `hostname` (on `port`) is an allow-listed name: private answers pass, metadata never does. */
export function isAllowedHostname(hostname: string, allowList: AllowList, port?: number): boolean {
  const name = normalizeHostname(hostname)
  return allowList.hostnames.some((h) => h.name === name && portMatches(h.port, port))
}

/**
 * Why `ip` may not be dialled (`'loopback'`, `'private'`, `'cloud metadata'`, …), or null if it
 * may. Anything that does not parse as an IP is refused. `port` narrows which allow-list entries
 * apply (entries without a port apply to every port; with `port` undefined only those do).
 */
export function forbiddenReason(ip: string, allowList: AllowList, port?: number): string | null {
  if (!isIP(ip)) return 'not an IP address'
  const addr = unmap(ipaddr.parse(ip))
  if (isMetadata(addr)) return METADATA_REASON
  if (allowList.cidrs.some((c) => c.net.kind() === addr.kind() && addr.match(c.net, c.bits) && portMatches(c.port, port))) return null
  return rangeReason(addr, allowList, port)
}

const isMetadata = (addr: Addr) => METADATA_ADDRESSES.includes(addr.toNormalizedString())

/** `cloud metadata` for a metadata address, also in its IPv4-mapped, NAT64 and 6to4 forms; else null. */
function metadataReason(ip: string): string | null {
  if (!isIP(ip)) return 'not an IP address'
  const addr = unmap(ipaddr.parse(ip))
  if (isMetadata(addr)) return METADATA_REASON
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6
    const range = v6.range()
    const embedded = range === 'rfc6052' && v6.match(NAT64_WELL_KNOWN) ? [v6.parts[6], v6.parts[7]] : range === '6to4' ? [v6.parts[1], v6.parts[2]] : null
    if (embedded) {
      const [hi = 0, lo = 0] = embedded
      if (isMetadata(new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]))) return METADATA_REASON
    }
  }
  return null
}

/** True when `ip` must not be dialled; `allowList` entries are CIDRs, IPs or hostnames (optionally with a port). */
export function isForbiddenAddress(ip: string, allowList: readonly string[] = [], port?: number): boolean {
  return forbiddenReason(ip, parseAllowList(allowList), port) !== null
}

/**
 * Judges resolved addresses of `hostname`: the first forbidden one and why, or null when all may
 * be dialled. An allow-listed hostname (for `port`) still never reaches a metadata address.
 */
export function judgeAddresses(hostname: string, addresses: readonly string[], allowList: AllowList, port?: number): { address: string; reason: string } | null {
  const trusted = isAllowedHostname(hostname, allowList, port)
  for (const address of addresses) {
    const reason = trusted ? metadataReason(address) : forbiddenReason(address, allowList, port)
    if (reason) return { address, reason }
  }
  return null
}

function rangeReason(addr: Addr, allowList: AllowList, port: number | undefined): string | null {
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
  if (range === 'rfc6052' && v6.match(NAT64_WELL_KNOWN)) return embeddedReason(v6.parts[6], v6.parts[7], allowList, port)
  // 6to4 (2002:AABB:CCDD::/48) reaches the IPv4 address AABB:CCDD through a relay.
  if (range === '6to4') return embeddedReason(v6.parts[1], v6.parts[2], allowList, port)
  // Everything else: loopback, uniqueLocal (fc00::/7), linkLocal, multicast, unspecified,
  // teredo, rfc6145, reserved, the local-use NAT64 prefix, …
  return range
}

function embeddedReason(hi: number | undefined, lo: number | undefined, allowList: AllowList, port: number | undefined): string | null {
  const v4 = new ipaddr.IPv4([(hi ?? 0) >> 8, (hi ?? 0) & 0xff, (lo ?? 0) >> 8, (lo ?? 0) & 0xff])
  const reason = forbiddenReason(v4.toString(), allowList, port)
  if (reason === METADATA_REASON) return METADATA_REASON
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

export type SafeLookupOptions = {
  /** CIDRs, IPs or hostnames (optionally `:port`) permitted even if private (local development). */
  allowList?: readonly string[]
  /** The destination port, which narrows the allow-list's `host:port` entries. */
  port?: number
  /** DNS resolution; {@link createHostResolver} (off the libuv thread pool) unless a test injects answers. */
  resolve?: HostResolver
  /** Deadline of each resolution, injected resolvers included (default 5 s). */
  dnsTimeoutMs?: number
}

/**
 * A `lookup` for `net.connect`/`tls.connect` that resolves every address and fails with
 * `SsrfBlockedError` if any one is forbidden (a mixed answer could otherwise be raced to the
 * private one). Also usable with `node:https` agents.
 */
export function createSafeLookup({ allowList = [], port, resolve, dnsTimeoutMs }: SafeLookupOptions = {}): SafeLookup {
  const allowed = parseAllowList(allowList)
  const resolver = resolve ? withDnsTimeout(resolve, dnsTimeoutMs) : createHostResolver({ timeoutMs: dnsTimeoutMs })
  return (hostname, options, callback) => {
    resolver(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, [])
      const first = addresses[0]
      if (!first) return callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), [])
      const refused = judgeAddresses(hostname, addresses.map((a) => a.address), allowed, port)
      if (refused) return callback(new SsrfBlockedError(`${hostname} resolved to ${refused.address} (${refused.reason})`), [])
      // Node asks for all addresses when it races IPv4/IPv6 (autoSelectFamily), else for one.
      if (options.all) callback(null, addresses)
      else callback(null, first.address, first.family)
    })
  }
}

export type SafeDispatcherOptions = {
  /** CIDRs, IPs or hostnames (optionally `:port`) permitted even if private (local development). Empty in production. */
  allowList?: readonly string[]
  /** TCP/TLS connect timeout; undici's default is 10 s. */
  connectTimeoutMs?: number
  /** DNS timeout per lookup (default 5 s); a slow resolver fails one attempt, not the process. */
  dnsTimeoutMs?: number
  /** DNS resolution; injected by tests. */
  resolve?: HostResolver
}

/**
 * An undici `Agent` that refuses to connect to loopback, private, link-local, CGNAT, reserved,
 * multicast, unspecified, metadata and IPv4-mapped forms of those, for hostnames (after DNS) and
 * literal IPs alike. Pass it as `dispatcher` to undici's `request`/`fetch`.
 */
export function createSafeDispatcher({ allowList = [], connectTimeoutMs, dnsTimeoutMs, resolve }: SafeDispatcherOptions = {}): Agent {
  const allowed = parseAllowList(allowList)
  const resolver = resolve ? withDnsTimeout(resolve, dnsTimeoutMs) : createHostResolver({ timeoutMs: dnsTimeoutMs })
  // One connector per port an allow-list entry names, and one for every other port: the lookup
  // must know the port to apply `host:port` entries, and Node does not pass it to `lookup`.
  const entryPorts = new Set([...allowed.cidrs, ...allowed.hostnames].map((e) => e.port).filter((p): p is number => p !== null))
  const connectors = new Map<number | 'other', buildConnector.connector>()
  const connectorFor = (port: number) => {
    const key = entryPorts.has(port) ? port : 'other'
    let connector = connectors.get(key)
    if (!connector) {
      connector = buildConnector({
        lookup: createSafeLookup({ allowList, port: key === 'other' ? undefined : port, resolve: resolver }),
        ...(connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs }),
      })
      connectors.set(key, connector)
    }
    return connector
  }
  return new Agent({
    connect: (options, callback) => {
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80)
      const portForList = entryPorts.has(port) ? port : undefined
      // undici strips IPv6 brackets before calling the connector, so isIP sees the bare address.
      if (isIP(options.hostname)) {
        const reason = forbiddenReason(options.hostname, allowed, portForList)
        if (reason) return callback(new SsrfBlockedError(`${options.hostname} is ${reason}`), null)
      }
      connectorFor(port)(options, callback)
    },
  })
}
