import { createHash, timingSafeEqual } from 'node:crypto'
import { ExecuteRequest, InterruptRequest, SessionKey, type WireEvent } from '@threadwork/sandbox-client'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ExecutionLimits } from './kernel-session.js'
import { PoolFullError, type SessionPool, SessionStartError } from './session-pool.js'

export interface AppDeps {
  pool: SessionPool
  token: string
  /** Limits of one execution; `timeoutMs` is the default, `maxTimeoutMs` the most a caller may ask. */
  limits: Omit<ExecutionLimits, 'timeoutMs'> & { timeoutMs: number; maxTimeoutMs: number }
  maxRequestBytes: number
  /** Null when healthy; else why this host cannot run code (its self-check failed). */
  unhealthy: () => string | null
  log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void
}

const digest = (s: string) => createHash('sha256').update(s).digest()
const error = (message: string, code: string) => ({ error: { message, code } })

/**
 * The sandbox service's HTTP API (contract: packages/sandbox-client/src/wire.ts). Every route but
 * /healthz needs `Authorization: Bearer <SANDBOX_TOKEN>`, compared in constant time.
 */
export function createApp(deps: AppDeps): Hono {
  const expected = digest(deps.token)
  const app = new Hono()

  app.get('/healthz', (c) => {
    const reason = deps.unhealthy()
    return reason ? c.json({ status: 'unavailable' }, 503) : c.json({ status: 'ok', sessions: deps.pool.size, readySpares: deps.pool.readySpares })
  })

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const given = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (!timingSafeEqual(digest(given), expected)) return c.json(error('Missing or wrong sandbox token.', 'unauthorized'), 401)
    await next()
  })
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: deps.maxRequestBytes,
      onError: (c) => c.json(error(`Request body over ${deps.maxRequestBytes} bytes.`, 'too_large'), 413),
    }),
  )

  app.post('/v1/execute', async (c) => {
    const reason = deps.unhealthy()
    if (reason) return c.json(error(reason, 'sandbox_unavailable'), 503)
    const parsed = ExecuteRequest.safeParse(await c.req.json().catch(() => null))
    if (!parsed.success) return c.json(error(`Invalid request: ${parsed.error.issues[0]?.message ?? 'bad body'}`, 'invalid_request'), 400)
    const req = parsed.data
    if (!deps.pool.canAccept(req.sessionKey)) return c.json(error('Every session slot of this sandbox host is busy.', 'sandbox_full'), 503)
    const limits: ExecutionLimits = { ...deps.limits, timeoutMs: Math.min(req.timeoutMs ?? deps.limits.timeoutMs, deps.limits.maxTimeoutMs) }
    const encoder = new TextEncoder()
    const signal = c.req.raw.signal
    let write: (event: WireEvent) => void = () => undefined
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        write = (event) => {
          try {
            controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`))
          } catch {
            // The client went away; the execution goes on to its end (or its interrupt).
          }
        }
        const onAbort = () => deps.pool.interrupt(req.sessionKey, deps.limits.interruptGraceMs)
        signal.addEventListener('abort', onAbort, { once: true })
        deps.pool
          .execute(req, limits, (output) => write({ type: 'output', output }))
          .then(
            (result) => write({ type: 'result', ...result }),
            (err: Error) => {
              deps.log('warn', 'execution failed to start', { err: err.message })
              const why = err instanceof PoolFullError || err instanceof SessionStartError ? err.message : 'internal error'
              write({
                type: 'result',
                status: 'died',
                files: [],
                sessionRestarted: false,
                notice: `The sandbox could not run this code: ${why}.`,
              })
            },
          )
          .finally(() => {
            signal.removeEventListener('abort', onAbort)
            try {
              controller.close()
            } catch {
              // already closed by the client
            }
          })
      },
    })
    return new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' } })
  })

  app.post('/v1/interrupt', async (c) => {
    const parsed = InterruptRequest.safeParse(await c.req.json().catch(() => null))
    if (!parsed.success) return c.json(error('Invalid request: sessionKey required.', 'invalid_request'), 400)
    return c.json({ interrupted: deps.pool.interrupt(parsed.data.sessionKey, deps.limits.interruptGraceMs) })
  })

  app.delete('/v1/sessions/:key', (c) => {
    const key = SessionKey.safeParse(c.req.param('key'))
    if (!key.success) return c.json(error('Invalid session key.', 'invalid_request'), 400)
    return c.json({ ended: deps.pool.end(key.data) })
  })

  app.notFound((c) => c.json(error('Not found.', 'not_found'), 404))
  app.onError((err, c) => {
    deps.log('warn', 'request failed', { err: err.message })
    return c.json(error('Internal error.', 'internal'), 500)
  })
  return app
}
