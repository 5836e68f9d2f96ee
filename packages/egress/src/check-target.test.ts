import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import { createTargetChecker } from './check-target.js'
import type { HostResolver } from './resolve-host.js'

const dns = (table: Record<string, string[]>): HostResolver => (host, _opts, cb) => {
  const answer = table[host]
  if (!answer) return cb(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), [])
  cb(null, answer.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })))
}

describe('createTargetChecker (registration-time check of webhook URLs)', () => {
  const resolve = dns({ 'hooks.example.com': ['93.184.215.14'], 'intranet.test': ['10.1.2.3'], 'meta.test': ['169.254.169.254'], 'mixed.test': ['93.184.215.14', '127.0.0.1'] })

  it('passes public targets, and hosts DNS cannot resolve now (delivery judges those)', async () => {
    const check = createTargetChecker({ resolve })
    expect(await check('https://hooks.example.com/x')).toBeNull()
    expect(await check('https://8.8.8.8/x')).toBeNull()
    expect(await check('https://nowhere.test/x')).toBeNull()
  })

  it('refuses private and loopback targets, literal or resolved, naming the address and why', async () => {
    const check = createTargetChecker({ resolve })
    expect(await check('http://127.0.0.1:8080/x')).toEqual({ address: '127.0.0.1', reason: 'loopback', metadata: false })
    expect(await check('https://intranet.test/x')).toEqual({ address: '10.1.2.3', reason: 'private', metadata: false })
    expect(await check('https://mixed.test/x')).toEqual({ address: '127.0.0.1', reason: 'loopback', metadata: false })
    expect(await check('http://[::1]/x')).toMatchObject({ reason: 'loopback' })
  })

  it('honours WEBHOOK_ALLOW_PRIVATE, including a single host:port', async () => {
    expect(await createTargetChecker({ resolve, allowList: ['10.0.0.0/8'] })('https://intranet.test/x')).toBeNull()
    const narrow = createTargetChecker({ resolve, allowList: ['127.0.0.1:9000'] })
    expect(await narrow('http://127.0.0.1:9000/hook')).toBeNull()
    expect(await narrow('http://127.0.0.1:6379/')).toMatchObject({ reason: 'loopback' })
  })

  it('refuses cloud metadata whatever the allow-list says, literal or resolved', async () => {
    const check = createTargetChecker({ resolve, allowList: ['169.254.0.0/16', 'meta.test'] })
    expect(await check('http://169.254.169.254/latest/meta-data/')).toEqual({ address: '169.254.169.254', reason: 'cloud metadata', metadata: true })
    expect(await check('http://meta.test/')).toEqual({ address: '169.254.169.254', reason: 'cloud metadata', metadata: true })
  })

  it('does not wait on a DNS server that never answers beyond its timeout', async () => {
    const check = createTargetChecker({ resolve: () => {}, dnsTimeoutMs: 100 })
    expect(await check('https://slow.test/x')).toBeNull()
  })
})
