import { type IncomingMessage, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { type SseSink, sseResponse } from './sse-response.js'

/** An app whose one route streams through `sseResponse`, served by @hono/node-server as in production. */
async function serveSse(run: (sink: SseSink) => Promise<void>): Promise<string> {
  const app = new Hono()
  // Headers a middleware sets after the handler (as the shutdown `connection: close` does) still go out.
  app.use('*', async (c, next) => {
    await next()
    c.res.headers.set('x-after', 'yes')
  })
  app.get('/sse', (c) => sseResponse(c, run))
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        ;(server as import('node:http').Server).closeAllConnections()
        server.close(() => r())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`
}

function get(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request(url, resolve).on('error', reject).end())
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of res) text += chunk
  return text
}

describe('sseResponse', () => {
  it('sends the headers the middleware left, then every frame in order, then ends', async () => {
    const url = await serveSse(async (sink) => {
      await sink.write('event: a\ndata: 1\n\n') // before the headers are out: held
      await new Promise((r) => setTimeout(r, 5))
      await sink.write('event: b\ndata: 2\n\n') // straight to the socket
      await sink.write('event: done\ndata: [DONE]\n\n')
    })
    const res = await get(url)
    expect(res.headers['content-type']).toBe('text/event-stream')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['x-after']).toBe('yes')
    expect(await readAll(res)).toBe('event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: done\ndata: [DONE]\n\n')
  })

  it('a client that disconnects aborts the sink once; later writes are dropped', async () => {
    const onAbort = vi.fn()
    let sink!: SseSink
    const url = await serveSse(async (s) => {
      sink = s
      s.onAbort(onAbort)
      await s.write('event: a\ndata: 1\n\n')
      await new Promise<void>((r) => s.onAbort(r))
    })
    const res = await get(url)
    await new Promise((r) => res.once('data', r))
    res.destroy()
    await vi.waitFor(() => expect(onAbort).toHaveBeenCalledTimes(1))
    expect(sink.aborted).toBe(true)
    expect(sink.write('event: b\ndata: 2\n\n')).toBeUndefined()
  })

  it('backpressure: a write waits while the socket is full and goes on once the client reads', async () => {
    const frame = `data: ${'x'.repeat(64 * 1024)}\n\n`
    let waited = 0
    const url = await serveSse(async (sink) => {
      await sink.write(': open\n\n')
      await new Promise((r) => setTimeout(r, 20)) // the headers are out: writes go to the socket
      for (let i = 0; i < 200; i++) {
        const w = sink.write(frame)
        if (w) {
          waited++
          await w
        }
      }
    })
    const res = await get(url)
    res.pause()
    await vi.waitFor(() => expect(waited).toBeGreaterThan(0))
    const text = await readAll(res)
    expect(text.length).toBe(': open\n\n'.length + 200 * frame.length)
  })

  it('without a Node response (app.request), the frames go through the body', async () => {
    const app = new Hono()
    app.get('/sse', (c) =>
      sseResponse(c, async (sink) => {
        await sink.write('event: a\ndata: 1\n\n')
        await sink.write('event: done\ndata: [DONE]\n\n')
      }),
    )
    const res = await app.request('/sse')
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(await res.text()).toBe('event: a\ndata: 1\n\nevent: done\ndata: [DONE]\n\n')
  })
})
