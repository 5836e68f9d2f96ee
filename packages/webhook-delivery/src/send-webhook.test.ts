import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { sendWebhook } from './index.js'
import { buildWebhookHeaders, generateSigningSecret } from './index.js'
import { createSafeDispatcher } from '@threadwork/egress'
import { startReceiver } from './test-receiver.js'

const body = JSON.stringify({ id: 'evt_1', object: 'event', created_at: 1, type: 'thread.run.completed', data: { id: 'run_1' } })

function localDispatcher() {
  // The receivers live on 127.0.0.1; packages/egress ssrf-guard.test.ts covers the refusal.
  const dispatcher = createSafeDispatcher({ allowList: ['127.0.0.1/32'] })
  onTestFinished(() => dispatcher.destroy())
  return dispatcher
}

describe('sendWebhook', () => {
  it('POSTs the exact body and headers; a 2xx is ok', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end())
    const headers = buildWebhookHeaders({ secrets: [generateSigningSecret()], msgId: 'evt_1', timestamp: new Date(), body })

    const result = await sendWebhook({ url: receiver.url(), headers, body, dispatcher: localDispatcher() })

    expect(result).toMatchObject({ ok: true, status: 204, error: null, retryAfterMs: null, responseSnippet: '' })
    expect(result.latencyMs).toBeGreaterThanOrEqual(0)
    const [request] = receiver.received
    expect(request).toMatchObject({ method: 'POST', url: '/hook', body })
    expect(request?.headers).toMatchObject(headers)
  })

  it('does not follow a 302', async () => {
    const receiver = await startReceiver((req, res) => {
      if (req.url === '/hook') res.writeHead(302, { location: '/moved' }).end()
      else res.end('followed')
    })
    const result = await sendWebhook({ url: receiver.url(), headers: {}, body, dispatcher: localDispatcher() })

    expect(result).toMatchObject({ ok: false, status: 302, error: 'redirect_not_followed' })
    expect(receiver.received.map((r) => r.url)).toEqual(['/hook'])
  })

  it('reports non-2xx as http_<status> with retry-after', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'))
    const result = await sendWebhook({ url: receiver.url(), headers: {}, body, dispatcher: localDispatcher() })
    expect(result).toMatchObject({ ok: false, status: 503, error: 'http_503', retryAfterMs: 7_000, responseSnippet: 'busy' })
  })

  it('times out a receiver that never answers', async () => {
    const receiver = await startReceiver(() => {
      // Never respond.
    })
    const result = await sendWebhook({ url: receiver.url(), headers: {}, body, dispatcher: localDispatcher(), timeoutMs: 200 })
    expect(result).toMatchObject({ ok: false, status: null, error: 'timeout' })
    expect(result.latencyMs).toBeGreaterThanOrEqual(150)
    expect(result.latencyMs).toBeLessThan(5_000)
  })

  it('keeps the status when a 2xx body trickles past the timeout', async () => {
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200)
      res.write('partial')
    })
    const result = await sendWebhook({ url: receiver.url(), headers: {}, body, dispatcher: localDispatcher(), timeoutMs: 200 })
    expect(result).toMatchObject({ ok: true, status: 200, error: null, responseSnippet: 'partial' })
  })

  it('reads at most maxResponseBytes of an endless body, then hangs up', async () => {
    let closed = false
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      const chunk = Buffer.alloc(16 * 1024, 'x')
      const pump = () => {
        while (!closed && res.write(chunk)) {
          // Fill the socket buffer, then wait for drain.
        }
      }
      res.on('drain', pump)
      res.on('close', () => {
        closed = true
      })
      pump()
    })
    const result = await sendWebhook({ url: receiver.url(), headers: {}, body, dispatcher: localDispatcher(), maxResponseBytes: 1_000 })

    expect(result).toMatchObject({ ok: true, status: 200 })
    expect(result.responseSnippet).toBe('x'.repeat(1_000))
    await expect.poll(() => closed).toBe(true)
  })

  it('reports a refused connection', async () => {
    // Grab a free port, then close it so nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise((resolve) => probe.close(resolve))

    const result = await sendWebhook({ url: `http://127.0.0.1:${port}/hook`, headers: {}, body, dispatcher: localDispatcher() })
    expect(result).toMatchObject({ ok: false, status: null })
    expect(result.error).toMatch(/^connection_error: ECONNREFUSED/)
  })

  it('rejects URLs it cannot or must not dial, without throwing', async () => {
    const dispatcher = localDispatcher()
    expect((await sendWebhook({ url: 'not a url', headers: {}, body, dispatcher })).error).toBe('invalid_url: unparseable')
    expect((await sendWebhook({ url: 'file:///etc/passwd', headers: {}, body, dispatcher })).error).toBe('invalid_url: unsupported protocol file:')
  })
})
