import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppEnv } from '../env.js'
import { renderError } from './errors.js'
import { jsonBody } from './json-body.js'

// Over a real @hono/node-server socket: the declared-length path reads the socket directly, the chunked one counts as it reads.
let server: ReturnType<typeof serve>
let url: string
beforeAll(async () => {
  const app = new Hono<AppEnv>()
  app.use('*', jsonBody(1024))
  app.post('/echo', async (c) => c.json({ got: await c.req.json() }))
  app.post('/text', async (c) => c.json({ text: await c.req.text(), json: await c.req.json() }))
  app.onError((err, c) => renderError(err, c))
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

/** A body sent chunked (no content-length), in two pieces. */
const chunked = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(text)
      controller.enqueue(bytes.subarray(0, bytes.length >> 1))
      controller.enqueue(bytes.subarray(bytes.length >> 1))
      controller.close()
    },
  })
const post = (body: string | ReadableStream<Uint8Array>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit)

describe('jsonBody over a socket', () => {
  it('names what a body that is not an object is: null (not "object"), an array, a scalar', async () => {
    for (const [body, got] of [['null', 'null'], ['[1]', 'an array'], ['"x"', 'a string'], ['5', 'a number'], ['true', 'a boolean']]) {
      const res = await post(body!)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`Invalid body: expected a JSON object, but got ${got}.`)
    }
  })

  it('parses a body with a declared length, and one sent chunked', async () => {
    expect(await (await post(JSON.stringify({ a: 'é' }))).json()).toEqual({ got: { a: 'é' } })
    expect(await (await post(chunked(JSON.stringify({ b: [1, 2] })))).json()).toEqual({ got: { b: [1, 2] } })
  })

  it('caches the text as sent for the validators (not the parsed value re-encoded), `{}` for an empty body', async () => {
    const textOf = async (body: string) => (await (await fetch(url.replace('/echo', '/text'), { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as unknown
    expect(await textOf(' { "a" : 1 } ')).toEqual({ text: ' { "a" : 1 } ', json: { a: 1 } })
    expect(await textOf('')).toEqual({ text: '{}', json: {} })
  })

  it('refuses an oversized body either way: declared (before reading) or chunked (while reading)', async () => {
    const big = JSON.stringify({ x: 'y'.repeat(2048) })
    for (const res of [await post(big), await post(chunked(big))]) {
      expect(res.status).toBe(413)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_too_large')
    }
  })
})
