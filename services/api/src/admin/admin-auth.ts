import { timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { type AdminSessions, SESSION_SECONDS } from './admin-sessions.js'

/** The session cookie: a random id of a server-side session (admin-sessions.ts), never the token. */
export const ADMIN_COOKIE = 'tw_admin'

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** What the admin routes need to know about the deployment. */
export interface AdminAuthOptions {
  token: string
  sessions: AdminSessions
  /**
   * `TRUST_PROXY`: the API sits behind a TLS-terminating proxy that sets `X-Forwarded-Proto`,
   * `X-Forwarded-Host` and `X-Forwarded-For`. Then the origin check and the cookie's `Secure`
   * flag follow those headers, and the sign-in throttle counts the forwarded client address.
   * Never set it when clients reach the API directly: they could forge the headers.
   */
  trustProxy?: boolean
}

/** The origin the browser sees: the request's own, or the proxy's when trusted. */
export function publicOrigin(c: Context, trustProxy = false): string {
  const url = new URL(c.req.url)
  if (!trustProxy) return url.origin
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim()
  const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim()
  return `${proto === 'https' || proto === 'http' ? proto : url.protocol.slice(0, -1)}://${host || url.host}`
}

/** The client address for the sign-in throttle. */
export function clientAddress(c: Context, trustProxy = false): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
  return incoming?.socket?.remoteAddress ?? 'unknown'
}

type Presented = { kind: 'token'; value: string } | { kind: 'session'; value: string | undefined }

/** What the request presents: a token (`Bearer`, or `Basic` with the token as password), or the session cookie. */
function presented(c: Context): Presented {
  const header = c.req.header('authorization')?.trim() ?? ''
  const bearer = /^Bearer\s+(.+)$/i.exec(header)
  if (bearer) return { kind: 'token', value: bearer[1]!.trim() }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    return { kind: 'token', value: decoded.slice(decoded.indexOf(':') + 1) }
  }
  return { kind: 'session', value: getCookie(c, ADMIN_COOKIE) }
}

const throttled = (c: Context, seconds: number) => {
  c.header('retry-after', String(seconds))
  return c.json(
    { error: { message: `Too many wrong admin tokens from this address; try again in ${seconds} s.`, type: 'invalid_request_error', param: null, code: 'rate_limit_exceeded' } },
    429,
  )
}

/**
 * Guards the dashboard. Who may use `/admin/*`: one secret, `ADMIN_TOKEN`, presented as
 * `Authorization: Bearer <token>` (scripts), `Authorization: Basic` with the token as password
 * (`curl -u admin:<token>`), or the session cookie set by the login form (browsers). Wrong tokens
 * count toward the sign-in throttle whichever way they come. A browser without a session is sent
 * to the login form; anything else gets a 401 with a Basic challenge. State-changing requests
 * carrying an `Origin` must come from this origin (as the browser sees it: `TRUST_PROXY`): with
 * the SameSite=Strict cookie this closes CSRF.
 */
export function requireAdmin(opts: AdminAuthOptions, loginPath: string): MiddlewareHandler {
  return async (c, next) => {
    const shown = presented(c)
    let ok = false
    if (shown.kind === 'token') {
      const client = clientAddress(c, opts.trustProxy)
      const wait = await opts.sessions.lockedFor(client)
      if (wait > 0) return throttled(c, wait)
      ok = sameSecret(shown.value, opts.token)
      if (!ok) await opts.sessions.failed(client)
    } else {
      ok = await opts.sessions.valid(shown.value)
    }
    if (!ok) {
      const wantsHtml = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html')
      if (wantsHtml) return c.redirect(`${loginPath}?next=${encodeURIComponent(c.req.path)}`, 302)
      c.header('www-authenticate', 'Basic realm="Threadwork admin", charset="UTF-8"')
      return c.json({ error: { message: 'Admin authentication required.', type: 'invalid_request_error', param: null, code: 'admin_auth_required' } }, 401)
    }
    if (!['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      const origin = c.req.header('origin')
      if (origin && origin !== publicOrigin(c, opts.trustProxy)) {
        return c.json({ error: { message: 'Cross-origin admin request refused.', type: 'invalid_request_error', param: null, code: 'bad_origin' } }, 403)
      }
    }
    c.header('cache-control', 'no-store')
    await next()
  }
}

/** Only paths under `/admin/` are valid `next` targets: no open redirect. */
const safeNext = (next: string | undefined, fallback: string) => (next && /^\/admin\/[A-Za-z0-9/_%{}.-]*$/.test(next) ? next : fallback)

const loginPage = (action: string, next: string, failed: boolean, waitSeconds: number) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Threadwork admin — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:320px}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin-bottom:.4rem}
input{width:100%;box-sizing:border-box;padding:.5rem;margin-bottom:1rem;font:inherit}
button{padding:.5rem 1rem;font:inherit}.err{color:#b00020;margin:0 0 1rem}
</style></head><body>
<form method="post" action="${action}">
<h1>Threadwork admin</h1>
${waitSeconds > 0 ? `<p class="err" role="alert">Too many wrong tokens. Try again in ${waitSeconds} s.</p>` : failed ? '<p class="err" role="alert">Wrong token.</p>' : ''}
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${next.replace(/"/g, '&quot;')}">
<button type="submit">Sign in</button>
</form></body></html>`

/** `GET/POST <base>/login` and `POST <base>/logout`: the browser session for the dashboard. */
export function loginHandlers(opts: AdminAuthOptions, basePath: string, home: string) {
  const loginPath = `${basePath}/login`
  const secure = (c: Context) => publicOrigin(c, opts.trustProxy).startsWith('https:')
  return {
    loginPath,
    page: (c: Context) => c.html(loginPage(loginPath, safeNext(c.req.query('next'), home), c.req.query('failed') === '1', 0)),
    async submit(c: Context) {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
      const given = typeof form.token === 'string' ? form.token : ''
      const next = safeNext(typeof form.next === 'string' ? form.next : undefined, home)
      const client = clientAddress(c, opts.trustProxy)
      const wait = await opts.sessions.lockedFor(client)
      if (wait > 0) {
        c.header('retry-after', String(wait))
        return c.html(loginPage(loginPath, next, true, wait), 429)
      }
      if (!sameSecret(given, opts.token)) {
        await opts.sessions.failed(client)
        return c.redirect(`${loginPath}?failed=1&next=${encodeURIComponent(next)}`, 303)
      }
      await opts.sessions.succeeded(client)
      setCookie(c, ADMIN_COOKIE, await opts.sessions.create(), { httpOnly: true, sameSite: 'Strict', path: basePath, maxAge: SESSION_SECONDS, secure: secure(c) })
      return c.redirect(next, 303)
    },
    async logout(c: Context) {
      // Revoked server-side: the old cookie is worthless even if it was copied.
      await opts.sessions.revoke(getCookie(c, ADMIN_COOKIE))
      deleteCookie(c, ADMIN_COOKIE, { path: basePath, secure: secure(c) })
      return c.redirect(loginPath, 303)
    },
  }
}
