import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createStores } from './stores.js'
import { DELIVERIES_KEPT, DELIVERIES_TRIM_EVERY } from './webhook-delivery-log.js'
import { activeSecrets } from './webhook-endpoint-store.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

const attempt = (endpointId: string, ok: boolean) => ({
  webhook_endpoint_id: endpointId,
  url: 'https://example.com/h',
  event_id: 'evt_1',
  event_type: 'thread.run.completed',
  thread_id: null,
  attempt: 1,
  trigger: 'event' as const,
  status: ok ? ('succeeded' as const) : ('failed' as const),
  response_status_code: ok ? 200 : 500,
  latency_ms: 1,
  error: ok ? null : 'http_500',
  next_attempt_at: null,
})

describe('webhook endpoint store', () => {
  it('keeps the last deliveries only and tracks the failure streak', async () => {
    const e = await stores.webhookEndpoints.create('p', { url: 'https://example.com/h', name: 'n', event_types: ['thread.run.completed'] })
    const log = stores.webhookEndpoints.deliveries
    const first = await log.record('p', e.id, attempt(e.id, false), 'failure')
    expect(first).toMatchObject({ consecutiveFailures: 1, firstFailureAt: expect.any(Number) })
    const second = await log.record('p', e.id, attempt(e.id, false), 'failure')
    expect(second).toMatchObject({ consecutiveFailures: 2, firstFailureAt: first?.firstFailureAt })
    expect(await log.record('p', e.id, attempt(e.id, true), 'success')).toMatchObject({ consecutiveFailures: 0, firstFailureAt: null })

    // Trimmed every DELIVERIES_TRIM_EVERY-th record: never more than the bound, exactly the kept count right after a trim.
    const index = stores.keys.webhookDeliveries('p', e.id)
    let recorded = 3
    let largest = 0
    // Through two trims: the second one's stretch is a whole period long, the log's fullest.
    const secondTrim = (Math.floor(DELIVERIES_KEPT / DELIVERIES_TRIM_EVERY) + 2) * DELIVERIES_TRIM_EVERY
    while (recorded < secondTrim) {
      await log.record('p', e.id, attempt(e.id, true), 'success')
      recorded++
      if (recorded > DELIVERIES_KEPT) largest = Math.max(largest, await fx.redis.zcard(index))
    }
    expect(largest).toBe(DELIVERIES_KEPT + DELIVERIES_TRIM_EVERY - 1)
    expect(await fx.redis.zcard(index)).toBe(DELIVERIES_KEPT)
    // The trimmed attempts' hashes went with them: exactly the kept ones remain.
    expect((await fx.redis.keys(`${stores.keys.webhookDeliveryPrefix('p')}*`)).length).toBe(DELIVERIES_KEPT)
    await expect(log.get('p', e.id, first!.id)).rejects.toMatchObject({ status: 404 })
    expect(await fx.redis.exists(stores.keys.webhookDelivery('p', first!.id))).toBe(0)

    // Deleting the endpoint removes its log; a later attempt is not recorded.
    await stores.webhookEndpoints.delete('p', e.id)
    expect(await fx.redis.zcard(stores.keys.webhookDeliveries('p', e.id))).toBe(0)
    expect(await log.record('p', e.id, attempt(e.id, true), 'success')).toBeNull()
  })

  it('lists only enabled endpoints subscribed to a type', async () => {
    const ep = stores.webhookEndpoints
    const a = await ep.create('p', { url: 'https://a.example/h', name: 'a', event_types: ['thread.run.completed', 'thread.run.failed'] })
    const b = await ep.create('p', { url: 'https://b.example/h', name: 'b', event_types: ['thread.run.failed'] })
    await ep.create('q', { url: 'https://c.example/h', name: 'c', event_types: ['thread.run.failed'] })
    expect(await ep.subscribers('p', 'thread.run.failed')).toEqual([a.id, b.id])
    expect(await ep.subscribers('p', 'thread.run.completed')).toEqual([a.id])
    await ep.disable('p', b.id, 'test')
    expect(await ep.subscribers('p', 'thread.run.failed')).toEqual([a.id])
    expect(await ep.target('q', a.id)).toBeNull()
  })

  it('signs with the previous secret only until its grace period ends', () => {
    const hash = { _secret: 'whsec_new', _prev_secret: 'whsec_old', _prev_expires: '1000' }
    expect(activeSecrets(hash, 999)).toEqual(['whsec_new', 'whsec_old'])
    expect(activeSecrets(hash, 1000)).toEqual(['whsec_new'])
  })
})
