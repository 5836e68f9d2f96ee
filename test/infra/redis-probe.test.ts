// scripts/lib/redis-probe.mjs against the real Redis and fake TCP peers.
import { describe, expect, it } from 'vitest'
import { probeRedis, probeRedisReply } from '../../scripts/lib/redis-probe.mjs'
import { freePort, fakeServer, devRedis } from './launcher-harness.js'

describe('probeRedis', () => {
  it('answers true for the real Redis (PING → +PONG)', async () => {
    expect(await probeRedis({ ...devRedis(), timeoutMs: 500 })).toBe(true)
    expect(await probeRedisReply({ ...devRedis(), timeoutMs: 500 })).toBe('+PONG')
  })

  it('answers false quickly for a port nobody listens on', async () => {
    const port = await freePort()
    const started = Date.now()
    expect(await probeRedis({ port, timeoutMs: 10_000 })).toBe(false)
    expect(Date.now() - started).toBeLessThan(5_000) // refused, not timed out (loose for a loaded machine)
  })

  it('gives up after the timeout when the peer accepts but never answers', async () => {
    const port = await fakeServer(null)
    const started = Date.now()
    expect(await probeRedisReply({ port, timeoutMs: 200 })).toBeNull()
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(10_000) // gave up rather than waiting for ever (loose for a loaded machine)
  })

  it('is false for a server that answers something other than +PONG, and reports what it said', async () => {
    const port = await fakeServer('-NOAUTH Authentication required.\r\n')
    expect(await probeRedis({ port })).toBe(false)
    expect(await probeRedisReply({ port })).toBe('-NOAUTH Authentication required.')
  })
})
