import { connect } from 'node:net'
import type { LookupAddress } from 'node:dns'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import type { HostResolver } from './resolve-host.js'
import { SsrfBlockedError, createSafeDispatcher, createSafeLookup, isForbiddenAddress } from './ssrf-guard.js'

/** A receiver on 127.0.0.1 (random port) that answers `ok` and records each request path. */
async function startReceiver() {
  const received: string[] = []
  const server = createServer((req, res) => {
    received.push(req.url ?? '')
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { port, received, url: (path = '/hook', host = '127.0.0.1') => `http://${host}:${port}${path}` }
}

/** One POST through `dispatcher`: the status, or `ssrf_blocked: <why>` / the error's message. */
async function postThrough(dispatcher: ReturnType<typeof createSafeDispatcher>, url: string) {
  try {
    const res = await request(url, { method: 'POST', body: '{}', dispatcher, headersTimeout: 5_000 })
    await res.body.text()
    return { ok: res.statusCode < 300, status: res.statusCode as number | null, error: null as string | null }
  } catch (err) {
    for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
      if (cause instanceof SsrfBlockedError) return { ok: false, status: null, error: `ssrf_blocked: ${cause.message}` }
    }
    return { ok: false, status: null, error: (err as Error).message }
  }
}

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['10.1.2.3', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'Alibaba metadata (in CGNAT)'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'TEST-NET reserved'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'ULA'],
    ['fd12:3456::1', 'ULA'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['fe80::1', 'IPv6 link-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'deprecated IPv4-compatible'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2001:db8::1', 'documentation'],
    ['not-an-ip', 'unparseable'],
  ])('refuses %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true)
  })

  it.each([['93.184.215.14'], ['8.8.8.8'], ['2606:4700:4700::1111'], ['::ffff:8.8.8.8'], ['64:ff9b::808:808'], ['2002:808:808::1']])(
    'permits public %s',
    (ip) => {
      expect(isForbiddenAddress(ip)).toBe(false)
    },
  )

  it('permits allow-listed addresses (CIDR or IP), for IPv4-mapped forms too', () => {
    expect(isForbiddenAddress('127.0.0.1', ['127.0.0.1/32'])).toBe(false)
    expect(isForbiddenAddress('::ffff:127.0.0.1', ['127.0.0.1/32'])).toBe(false)
    expect(isForbiddenAddress('10.9.8.7', ['10.0.0.0/8'])).toBe(false)
    expect(isForbiddenAddress('::1', ['::1'])).toBe(false)
    expect(isForbiddenAddress('127.0.0.2', ['127.0.0.1/32'])).toBe(true)
  })

  it('refuses cloud metadata even when an allow-list covers it', () => {
    expect(isForbiddenAddress('169.254.169.254', ['169.254.0.0/16'])).toBe(true)
    expect(isForbiddenAddress('fd00:ec2::254', ['fc00::/7'])).toBe(true)
  })
})

describe('createSafeLookup', () => {
  const answer = (...addresses: string[]) => {
    const records: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    return (_host: string, _opts: unknown, cb: (err: null, a: LookupAddress[]) => void) => cb(null, records)
  }
  const run = (lookup: ReturnType<typeof createSafeLookup>, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      lookup('hooks.example.com', { all }, (err, address) => resolve({ err, address })),
    )

  it('refuses a mixed answer when any address is forbidden', async () => {
    const { err } = await run(createSafeLookup({ resolve: answer('93.184.215.14', '10.0.0.5') }), true)
    expect(err?.message).toBe('hooks.example.com resolved to 10.0.0.5 (private)')
  })

  it('returns exactly the checked addresses, in the shape Node asked for', async () => {
    const lookup = createSafeLookup({ resolve: answer('93.184.215.14', '2606:4700:4700::1111') })
    expect((await run(lookup, true)).address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ])
    expect((await run(lookup, false)).address).toBe('93.184.215.14')
  })

  it('trusts allow-listed hostnames with private answers', async () => {
    const lookup = createSafeLookup({ allowList: ['Hooks.Example.com'], resolve: answer('10.0.0.5') })
    expect((await run(lookup, false)).err).toBeNull()
  })

  it('never lets an allow-listed hostname reach a cloud metadata address (checked on the resolved address)', async () => {
    for (const metadata of ['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254', '64:ff9b::a9fe:a9fe']) {
      const lookup = createSafeLookup({ allowList: ['meta.test', 'hooks.example.com'], resolve: answer(metadata) })
      const { err } = await new Promise<{ err: Error | null }>((resolve) => lookup('meta.test', { all: true }, (err) => resolve({ err })))
      expect(err, metadata).toBeInstanceOf(SsrfBlockedError)
      expect(err?.message).toContain('cloud metadata')
    }
  })

  it('applies a host:port entry to that port only', async () => {
    const lookupOn = (port: number) => createSafeLookup({ allowList: ['localhost:9000'], port, resolve: answer('127.0.0.1') })
    const on = (port: number) => new Promise<Error | null>((resolve) => lookupOn(port)('localhost', { all: true }, (err) => resolve(err)))
    expect(await on(9000)).toBeNull()
    expect(await on(6379)).toBeInstanceOf(SsrfBlockedError)
  })

  it('is not consulted by Node for literal IP hosts, which is why the dispatcher checks those itself', async () => {
    const { port } = await startReceiver()
    const lookup = vi.fn()
    const socket = connect({ host: '127.0.0.1', port, lookup })
    onTestFinished(() => void socket.destroy())
    await new Promise((resolve) => socket.once('connect', resolve))
    expect(lookup).not.toHaveBeenCalled()
  })
})

describe('createSafeDispatcher with sendWebhook', () => {
  const post = (url: string, allowList?: string[]) => {
    const dispatcher = createSafeDispatcher({ allowList })
    onTestFinished(() => dispatcher.destroy())
    return postThrough(dispatcher, url)
  }

  it('refuses a receiver on 127.0.0.1 by default, and never reaches it', async () => {
    const receiver = await startReceiver()
    const result = await post(receiver.url())
    expect(result).toMatchObject({ ok: false, status: null, error: 'ssrf_blocked: 127.0.0.1 is loopback' })
    expect(receiver.received).toHaveLength(0)
  })

  it('permits it with allowList 127.0.0.1/32', async () => {
    const receiver = await startReceiver()
    const result = await post(receiver.url(), ['127.0.0.1/32'])
    expect(result).toMatchObject({ ok: true, status: 200, error: null })
    expect(receiver.received).toHaveLength(1)
  })

  it('refuses a hostname that resolves to loopback: the check runs after DNS', async () => {
    const receiver = await startReceiver()
    const result = await post(receiver.url('/hook', 'localhost'))
    expect(result.error).toMatch(/^ssrf_blocked: localhost resolved to (127\.0\.0\.1|::1) \(loopback\)$/)
    expect(receiver.received).toHaveLength(0)
  })

  it('permits an allow-listed hostname', async () => {
    const receiver = await startReceiver()
    expect(await post(receiver.url('/hook', 'localhost'), ['localhost'])).toMatchObject({ ok: true, status: 200 })
  })

  it('refuses IPv4-mapped IPv6 literals of loopback', async () => {
    const receiver = await startReceiver()
    const result = await post(receiver.url('/hook', '[::ffff:127.0.0.1]'))
    // WHATWG URL parsing rewrites it to hex; the guard unmaps it to 127.0.0.1.
    expect(result.error).toBe('ssrf_blocked: ::ffff:7f00:1 is loopback')
    expect(receiver.received).toHaveLength(0)
  })

  it('refuses IPv6 loopback and metadata literals', async () => {
    expect((await post('http://[::1]:9/hook')).error).toBe('ssrf_blocked: ::1 is loopback')
    expect((await post('http://169.254.169.254/latest/meta-data/')).error).toBe('ssrf_blocked: 169.254.169.254 is cloud metadata')
  })
})

describe('createSafeDispatcher: the narrowest allow-list entry, one host:port', () => {
  const post = (url: string, allowList: string[]) => {
    const dispatcher = createSafeDispatcher({ allowList })
    onTestFinished(() => dispatcher.destroy())
    return postThrough(dispatcher, url)
  }

  it('opens exactly that port of loopback, and not Redis or any other local port', async () => {
    const receiver = await startReceiver()
    const other = await startReceiver()
    const allow = [`127.0.0.1:${receiver.port}`]
    expect(await post(receiver.url(), allow)).toMatchObject({ ok: true, status: 200 })
    expect((await post(other.url(), allow)).error).toBe('ssrf_blocked: 127.0.0.1 is loopback')
    expect((await post('http://127.0.0.1:6379/', allow)).error).toBe('ssrf_blocked: 127.0.0.1 is loopback')
    expect(other.received).toHaveLength(0)
  })

  it('works for hostnames too (localhost:<port>)', async () => {
    const receiver = await startReceiver()
    const other = await startReceiver()
    const allow = [`localhost:${receiver.port}`]
    expect(await post(receiver.url('/hook', 'localhost'), allow)).toMatchObject({ ok: true, status: 200 })
    expect((await post(other.url('/hook', 'localhost'), allow)).error).toMatch(/^ssrf_blocked: localhost resolved to .* \(loopback\)$/)
  })

  it('refuses a metadata literal whatever the allow-list says', async () => {
    expect((await post('http://169.254.169.254/latest/meta-data/', ['169.254.0.0/16', '169.254.169.254:80'])).error).toBe(
      'ssrf_blocked: 169.254.169.254 is cloud metadata',
    )
  })
})

describe('createSafeDispatcher: DNS with its own timeout', () => {
  it('fails an attempt whose DNS never answers within dnsTimeoutMs, without touching other lookups', async () => {
    const receiver = await startReceiver()
    const hanging = vi.fn() // never calls back: a DNS server that never answers
    const resolve: HostResolver = (host, _opts, cb) => {
      if (host === 'slow.test') return hanging()
      cb(null, [{ address: '127.0.0.1', family: 4 }])
    }
    const dispatcher = createSafeDispatcher({ allowList: ['127.0.0.1/32'], resolve, dnsTimeoutMs: 200 })
    onTestFinished(() => dispatcher.destroy())
    const slow = postThrough(dispatcher, `http://slow.test:${receiver.port}/hook`)
    // Meanwhile a good host resolves and delivers at once.
    expect(await postThrough(dispatcher, `http://fast.test:${receiver.port}/hook`)).toMatchObject({ ok: true, status: 200 })
    expect(hanging).toHaveBeenCalled()
    expect((await slow).error).toMatch(/timed out/)
  })
})
