import { type LookupAddress, type LookupOptions, lookup as systemLookup, promises as dnsPromises } from 'node:dns'
import { isIP } from 'node:net'

/** `dns.lookup`'s shape with `all: true`, which the SSRF guard's `lookup` calls. */
export type HostResolver = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

/** Default time one host's resolution may take (`WEBHOOK_DNS_TIMEOUT_MS`). */
export const DEFAULT_DNS_TIMEOUT_MS = 5_000

const NOT_IN_DNS = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME'])

/**
 * `resolve` with a deadline: after `timeoutMs` the callback gets `ETIMEOUT` (a late answer is
 * dropped). Applied to every resolver the guard uses, injected ones included.
 */
export function withDnsTimeout(resolve: HostResolver, timeoutMs: number = DEFAULT_DNS_TIMEOUT_MS): HostResolver {
  return (hostname, options, callback) => {
    let done = false
    const finish = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (done) return
      done = true
      clearTimeout(timer)
      callback(err, addresses)
    }
    const timer = setTimeout(
      () => finish(Object.assign(new Error(`DNS lookup of ${hostname} timed out after ${timeoutMs} ms`), { code: 'ETIMEOUT' }), []),
      timeoutMs,
    )
    timer.unref?.()
    resolve(hostname, options, finish)
  }
}

/**
 * A resolver with its own deadline that does not queue behind other hosts' lookups.
 *
 * Why not `dns.lookup`: it runs `getaddrinfo` on libuv's thread pool (4 threads), so a few slow
 * DNS servers (an attacker's) hold every thread and stall every other lookup in the process —
 * a JS timeout would not give the threads back. `dns.Resolver` (c-ares) queries on the event loop
 * with its own timeout. It does not read `/etc/hosts`, so `localhost` names, and names DNS does
 * not know (`ENOTFOUND`/`ENODATA`: a hosts-file entry), go to `dns.lookup` — answered locally, fast.
 *
 * Errors: `ETIMEOUT` (`timeoutMs` passed), or the resolver's own (`ESERVFAIL`, `ENOTFOUND`, …).
 */
export function createHostResolver({ timeoutMs = DEFAULT_DNS_TIMEOUT_MS }: { timeoutMs?: number | undefined } = {}): HostResolver {
  // c-ares' per-try timeout: two tries fit the overall deadline.
  const resolver = new dnsPromises.Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 2)), tries: 2 })
  const base: HostResolver = (hostname, options, finish) => {
    const viaSystem = () => systemLookup(hostname, { ...options, all: true }, (err, addresses) => finish(err, err ? [] : addresses))
    const name = hostname.toLowerCase().replace(/\.$/, '')
    if (isIP(name)) return finish(null, [{ address: name, family: isIP(name) }])
    if (name === 'localhost' || name.endsWith('.localhost')) return viaSystem()
    const family = options.family === 4 || options.family === 6 ? options.family : 0
    const queries: Promise<LookupAddress[]>[] = []
    if (family !== 6) queries.push(resolver.resolve4(name).then((a) => a.map((address) => ({ address, family: 4 }))))
    if (family !== 4) queries.push(resolver.resolve6(name).then((a) => a.map((address) => ({ address, family: 6 }))))
    void Promise.allSettled(queries).then((results) => {
      const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))
      if (addresses.length > 0) return finish(null, addresses)
      const errors = results.map((r) => (r.status === 'rejected' ? (r.reason as NodeJS.ErrnoException) : null))
      if (errors.every((e) => e === null || NOT_IN_DNS.has(e.code ?? ''))) return viaSystem()
      finish(errors.find((e) => e !== null && !NOT_IN_DNS.has(e.code ?? '')) ?? null, [])
    })
  }
  return withDnsTimeout(base, timeoutMs)
}
