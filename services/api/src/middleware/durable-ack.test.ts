import { ApiError } from '@threadwork/domain'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from '../env.js'
import { type Durability, durableAck } from './durable-ack.js'
import { renderError } from './errors.js'

function appWith(durability: Durability) {
  const app = new Hono<AppEnv>()
  app.use('*', durableAck(durability))
  app.get('/thing', (c) => c.json({ ok: true }))
  app.post('/thing', (c) => c.json({ ok: true }))
  app.post('/bad', (c) => c.json({ error: {} }, 400))
  app.onError((err, c) => renderError(err, c))
  return app
}

describe('durableAck', () => {
  it('confirms each accepted write, and only writes', async () => {
    let confirms = 0
    const app = appWith({ info: null, confirm: async () => void confirms++ })
    expect((await app.request('/thing')).status).toBe(200)
    expect((await app.request('/bad', { method: 'POST' })).status).toBe(400)
    expect(confirms).toBe(0)
    expect((await app.request('/thing', { method: 'POST' })).status).toBe(200)
    expect(confirms).toBe(1)
  })

  it('answers 503 with an OpenAI error body when the write is not confirmed on disk', async () => {
    const app = appWith({
      info: null,
      confirm: async () => {
        throw new ApiError(503, 'not on disk', { type: 'server_error', code: 'service_unavailable' })
      },
    })
    const res = await app.request('/thing', { method: 'POST' })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: { message: 'not on disk', type: 'server_error', param: null, code: 'service_unavailable' } })
  })
})
