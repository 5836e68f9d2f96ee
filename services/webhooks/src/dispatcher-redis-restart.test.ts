import { newId, nowSeconds } from '@threadwork/domain'
import { createRedis, createStores } from '@threadwork/storage'
import { startRedisServer, uniquePrefix } from '@threadwork/test-utils'
import type { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { startDispatcher } from './dispatcher.js'
import { testDispatcherOptions } from './test-harness.js'

/**
 * The blocking read that follows a shard stream (0354d9a) across a Redis restart: its connection
 * dies while it waits; the follower must resume on its own, not sit until the (long) poll.
 */
describe('dispatcher across a Redis restart', () => {
  it('resumes its blocking read after Redis is SIGKILLed and restarted: an event committed afterwards goes out long before the poll', async () => {
    const srv = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    const connections: Redis[] = []
    const connect = (name: string, opts: { coalesceWrites?: boolean } = {}) => {
      const c = createRedis(srv.url, { role: 'worker', name, ...opts })
      c.on('error', () => {})
      connections.push(c)
      return c
    }
    const prefix = uniquePrefix('whr')
    const admin = connect('admin')
    const stores = createStores(admin, prefix)
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end())
    await stores.webhookEndpoints.create('alpha', { url: receiver.url(), name: 'test', event_types: ['thread.run.completed'] })
    // Only the blocking read can see an event within the test's bound.
    const d = await startDispatcher({ ...testDispatcherOptions(connect, prefix), pollMs: 30_000 })
    onTestFinished(async () => {
      await d.close()
      for (const c of connections) c.disconnect()
      await srv.cleanup()
    })
    // No nudge: the blocking read is the only way in before the poll.
    const emit = async () => {
      const evt = newId('evt')
      await admin.xadd(
        stores.keys.outbox(0),
        '*',
        'evt',
        evt,
        'type',
        'thread.run.completed',
        'project',
        'alpha',
        'thread',
        'thread_r',
        'created_at',
        String(nowSeconds()),
        'data',
        JSON.stringify({ id: 'run_1', object: 'thread.run' }),
        'callback_url',
        '',
      )
      return evt
    }

    const before = await emit()
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1)
    // Wait until the follower is blocked again, then take Redis away under it.
    await new Promise((r) => setTimeout(r, 300))
    await srv.kill()
    await srv.restart()
    await expect.poll(() => admin.ping().catch(() => null), { timeout: 10_000 }).toBe('PONG')
    const sent = Date.now()
    const after = await emit()
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(2)
    expect(Date.now() - sent).toBeLessThan(15_000)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([before, after])
  }, 60_000)
})
