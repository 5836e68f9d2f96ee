import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'

/** The session cookie: an HMAC of the token, so the token itself never sits in the browser. */
export const ADMIN_COOKIE = 'tw_admin'
const SESSION_SECONDS = 8 * 3600

const sessionValue = (token: string) => createHmac('sha256', token).update('threadwork-admin-session-v1').digest('base64url')

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Who may use `/admin/*`: one secret, `ADMIN_TOKEN`, presented as
 * - `Authorization: Bearer <token>` (scripts, curl),
 * - `Authorization: Basic` with the token as the password, any user name (`curl -u admin:<token>`),
 * - or the `tw_admin` session cookie set by the login form (browsers).
 * "Treat dashboard access as Redis access" (research §3): the dashboard can retry and delete jobs.
 */
export function isAdmin(c: Context, token: string): boolean {
  const header = c.req.header('authorization')?.trim() ?? ''
  const bearer = /^Bearer\s+(.+)$/i.exec(header)
  if (bearer) return sameSecret(bearer[1]!.trim(), token)
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    return sameSecret(decoded.slice(decoded.indexOf(':') + 1), token)
  }
  const cookie = getCookie(c, ADMIN_COOKIE)
  return cookie !== undefined && sameSecret(cookie, sessionValue(token))
}

/**
 * Guards the dashboard. A browser without a session is sent to the login form; anything else
 * gets a 401 with a Basic challenge. State-changing requests (retry, clean, …) carrying an
 * `Origin` must come from this origin: with the SameSite=Strict cookie this closes CSRF.
 */
export function requireAdmin(token: string, loginPath: string): MiddlewareHandler {
  return async (c, next) => {
    if (!isAdmin(c, token)) {
      const wantsHtml = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html')
      if (wantsHtml) return c.redirect(`${loginPath}?next=${encodeURIComponent(c.req.path)}`, 302)
      c.header('www-authenticate', 'Basic realm="Threadwork admin", charset="UTF-8"')
      return c.json({ error: { message: 'Admin authentication required.', type: 'invalid_request_error', param: null, code: 'admin_auth_required' } }, 401)
    }
    if (!['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      const origin = c.req.header('origin')
      if (origin && origin !== new URL(c.req.url).origin) {
        return c.json({ error: { message: 'Cross-origin admin request refused.', type: 'invalid_request_error', param: null, code: 'bad_origin' } }, 403)
      }
    }
    c.header('cache-control', 'no-store')
    await next()
  }
}

/** Only paths under `/admin/` are valid `next` targets: no open redirect. */
const safeNext = (next: string | undefined, fallback: string) => (next && /^\/admin\/[A-Za-z0-9/_%{}.-]*$/.test(next) ? next : fallback)

const loginPage = (action: string, next: string, failed: boolean) => `<!doctype html>
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
${failed ? '<p class="err" role="alert">Wrong token.</p>' : ''}
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${next.replace(/"/g, '&quot;')}">
<button type="submit">Sign in</button>
</form></body></html>`

/** `GET/POST <base>/login` and `POST <base>/logout`: the browser session for the dashboard. */
export function loginHandlers(token: string, basePath: string, home: string) {
  const loginPath = `${basePath}/login`
  return {
    loginPath,
    page: (c: Context) => c.html(loginPage(loginPath, safeNext(c.req.query('next'), home), c.req.query('failed') === '1')),
    async submit(c: Context) {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
      const given = typeof form.token === 'string' ? form.token : ''
      const next = safeNext(typeof form.next === 'string' ? form.next : undefined, home)
      if (!sameSecret(given, token)) return c.redirect(`${loginPath}?failed=1&next=${encodeURIComponent(next)}`, 303)
      setCookie(c, ADMIN_COOKIE, sessionValue(token), {
        httpOnly: true,
        sameSite: 'Strict',
        path: basePath,
        maxAge: SESSION_SECONDS,
        secure: new URL(c.req.url).protocol === 'https:',
      })
      return c.redirect(next, 303)
    },
    logout(c: Context) {
      deleteCookie(c, ADMIN_COOKIE, { path: basePath })
      return c.redirect(loginPath, 303)
    },
  }
}
