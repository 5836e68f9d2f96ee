import type { WebhookEventType } from '@threadwork/domain'
import { newId, nowSeconds } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { type Stores, createRedis, createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import type { Redis } from 'ioredis'
import { onTestFinished } from 'vitest'
import { type DispatcherOptions, type WebhookDispatcher, startDispatcher } from './dispatcher.js'

/**
 * Test-only: a dispatcher's options with millisecond retry delays and a 200 ms poll, over
 * connections from `connect` (`dispatcher` for its commands), receivers on 127.0.0.1 allowed.
 */
export function testDispatcherOptions(connect: (name: string, opts?: { coalesceWrites?: boolean }) => Redis, prefix: string): DispatcherOptions {
  return {
    // As in production (index.ts): the plain command connection coalesces its writes.
    redis: connect('dispatcher', { coalesceWrites: true }),
    connect,
    prefix,
    shards: 1,
    log: createLogger({ service: 'webhooks-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    concurrency: 20,
    allowPrivate: ['127.0.0.1/32'],
    schedule: [0, 100, 100, 100],
    timeoutMs: 2_000,
    lockMs: 2_000,
    reclaimIdleMs: 300,
    pollMs: 200,
    eventRetentionSeconds: 3600,
    trimEveryMs: 300,
  }
}

/**
 * Test-only: a Redis fixture (own prefix), the stores over it, and a dispatcher started on demand
 * with millisecond retry delays. Everything closes when the test ends.
 */
export async function webhookHarness() {
  const fx: RedisFixture = await createRedisFixture('wh')
  const stores: Stores = createStores(fx.redis, fx.prefix)
  const connections: Redis[] = []
  const dispatchers: WebhookDispatcher[] = []
  onTestFinished(async () => {
    await Promise.all(dispatchers.map((d) => d.close()))
    for (const c of connections) c.disconnect()
    await fx.cleanup()
  })
  const connect = (name: string, opts: { coalesceWrites?: boolean } = {}) => {
    const c = createRedis(fx.url, { role: 'worker', name, ...opts })
    connections.push(c)
    return c
  }

  return {
    fx,
    stores,
    project: 'alpha',

    /** Starts a dispatcher; the receivers of these tests live on 127.0.0.1, allowed unless overridden. */
    async start(opts: Partial<DispatcherOptions> = {}): Promise<WebhookDispatcher> {
      const d = await startDispatcher({ ...testDispatcherOptions(connect, fx.prefix), ...opts })
      dispatchers.push(d)
      return d
    },

    /** Closes `d` before the test ends (it is then not closed again). */
    async stop(d: WebhookDispatcher): Promise<void> {
      dispatchers.splice(dispatchers.indexOf(d), 1)
      await d.close()
    },

    /** Appends an event to the outbox as the worker's commit script does, and nudges (unless `nudge: false`). */
    async emit(e: {
      type: WebhookEventType
      thread?: string
      data?: unknown
      callbackUrl?: string
      project?: string
      evt?: string
      nudge?: boolean
    }): Promise<string> {
      const evt = e.evt ?? newId('evt')
      const k = stores.keys
      await fx.redis.xadd(
        k.outbox(0),
        '*',
        'evt',
        evt,
        'type',
        e.type,
        'project',
        e.project ?? 'alpha',
        'thread',
        e.thread ?? 'thread_1',
        'created_at',
        String(nowSeconds()),
        'data',
        JSON.stringify(e.data ?? { id: 'run_1', object: 'thread.run' }),
        'callback_url',
        e.callbackUrl ?? '',
      )
      if (e.nudge !== false) await fx.redis.publish(k.outboxChannel, '0')
      return evt
    },

    /**
     * Appends a commit's several events as one outbox entry, as commitRun-6.lua does (`events`:
     * `[[evt, type, data, callback_url], …]`), and nudges. Returns the event ids in order.
     */
    async emitCommit(
      events: { type: WebhookEventType; data?: unknown; callbackUrl?: string; evt?: string }[],
      opts: { thread?: string; project?: string } = {},
    ): Promise<string[]> {
      const ids = events.map((e) => e.evt ?? newId('evt'))
      const packed = JSON.stringify(events.map((e, i) => [ids[i], e.type, e.data ?? { id: 'run_1', object: 'thread.run' }, e.callbackUrl ?? '']))
      const k = stores.keys
      await fx.redis.xadd(
        k.outbox(0),
        '*',
        'project',
        opts.project ?? 'alpha',
        'thread',
        opts.thread ?? 'thread_1',
        'created_at',
        String(nowSeconds()),
        'events',
        packed,
      )
      await fx.redis.publish(k.outboxChannel, '0')
      return ids
    },

    /** An endpoint of project alpha. */
    endpoint(url: string, eventTypes: WebhookEventType[] = ['thread.run.completed']) {
      return stores.webhookEndpoints.create('alpha', { url, name: 'test', event_types: eventTypes })
    },

    deliveries: (endpointId: string) => stores.webhookEndpoints.deliveries.list('alpha', endpointId, { limit: 100, order: 'asc' }).then((p) => p.data),
  }
}
