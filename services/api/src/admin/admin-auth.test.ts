import { type ApiServer, startApiServer } from '@threadwork/test-utils'
import { describe, expect, it, onTestFinished } from 'vitest'

const TOKEN = 'admin-token-0123456789'

async function server(trustProxy = false): Promise<ApiServer> {
  const s = await startApiServer({ operations: { adminToken: TOKEN, durableWrites: 'off', trustProxy } })
  onTestFinished(() => s.close())
  return s
}

const login = (s: ApiServer, token: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/admin/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: `token=${encodeURIComponent(token)}&next=%2Fadmin%2Fqueues` })
const cookieOf = (res: Response) => /tw_admin=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
const dashboard = (s: ApiServer, cookie: string) => fetch(`${s.url}/admin/queues/api/queues`, { headers: { cookie: `tw_admin=${cookie}` } })

describe('admin sessions (issue 13, item 3)', () => {
  it('gives each sign-in its own random session id, kept server-side, and revokes it on logout', async () => {
    const s = await server()
    const a = cookieOf(await login(s, TOKEN))
    const b = cookieOf(await login(s, TOKEN))
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(b).not.toBe(a)
    expect(a).not.toContain(TOKEN)
    expect((await dashboard(s, a)).status).toBe(200)
    expect(await s.redis.ttl(`${s.prefix}:admin-session:${a}`)).toBeGreaterThan(7 * 3600)

    const out = await fetch(`${s.url}/admin/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: `tw_admin=${a}` } })
    expect(out.status).toBe(303)
    expect((await dashboard(s, a)).status).toBe(401) // the copied cookie is worthless now
    expect((await dashboard(s, b)).status).toBe(200) // other sessions live on
    expect((await dashboard(s, 'forged-value')).status).toBe(401)
  })

  it('slows down repeated wrong tokens (form, Basic and Bearer alike) with a 429 and retry-after', async () => {
    const s = await server()
    for (let i = 0; i < 4; i++) expect((await login(s, 'wrong-token-guess')).status).toBe(303)
    const fifth = await fetch(`${s.url}/admin/queues/api/queues`, { headers: { authorization: 'Bearer also-wrong' } })
    expect(fifth.status).toBe(401)
    const locked = await login(s, TOKEN) // even the right token waits out the lock
    expect(locked.status).toBe(429)
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    const basic = await fetch(`${s.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } })
    expect(basic.status).toBe(429)
  })
})

describe('behind a TLS-terminating proxy (issue 13, item 4)', () => {
  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'dash.example.com', origin: 'https://dash.example.com' }

  it('with TRUST_PROXY: the forwarded origin passes the Origin check and the cookie is Secure', async () => {
    const s = await server(true)
    const res = await login(s, TOKEN, proxied)
    expect(res.headers.get('set-cookie')).toMatch(/;\s*Secure/i)
    const put = await fetch(`${s.url}/admin/queues/api/queues/pause`, { method: 'PUT', headers: { ...proxied, cookie: `tw_admin=${cookieOf(res)}` } })
    expect(put.status).not.toBe(403)
  })

  it('without it: forwarded headers are ignored (a client could forge them)', async () => {
    const s = await server(false)
    const res = await login(s, TOKEN, proxied)
    expect(res.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i)
    const put = await fetch(`${s.url}/admin/queues/api/queues/pause`, { method: 'PUT', headers: { ...proxied, cookie: `tw_admin=${cookieOf(res)}` } })
    expect(put.status).toBe(403)
  })
})
