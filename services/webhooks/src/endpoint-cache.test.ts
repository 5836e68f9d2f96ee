import { activeSecrets, createStores } from '@threadwork/storage'
import { createRedisFixture } from '@threadwork/test-utils'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createEndpointCache } from './endpoint-cache.js'

describe('endpoint cache', () => {
  it('serves a project from one version read per batch, and sees every endpoint or secret write at the next batch', async () => {
    const fx = await createRedisFixture('whc')
    onTestFinished(() => fx.cleanup())
    const stores = createStores(fx.redis, fx.prefix)
    const endpoints = stores.webhookEndpoints
    const cache = createEndpointCache(endpoints)
    const snap = async () => (await cache.forBatch(['p'])).get('p')!

    expect(await snap()).toMatchObject({ endpoints: [], callbackSecretFields: null })
    const e = await endpoints.create('p', { url: 'https://example.com/a', name: 'a', event_types: ['thread.run.completed'] })
    const first = await snap()
    expect(first.endpoints).toMatchObject([{ id: e.id, enabled: true, eventTypes: ['thread.run.completed'], url: 'https://example.com/a', pausedUntilS: null }])
    expect(activeSecrets(first.endpoints[0]!.secretFields)).toEqual([e.signing_secret])
    // Nothing written: the same snapshot object, from a GET of the version.
    expect(await snap()).toBe(first)

    await endpoints.update('p', e.id, { event_types: ['thread.run.failed'], url: 'https://example.com/b' })
    expect((await snap()).endpoints[0]).toMatchObject({ eventTypes: ['thread.run.failed'], url: 'https://example.com/b' })
    await endpoints.setPause('p', e.id, 2_000_000_000, 'test')
    expect((await snap()).endpoints[0]!.pausedUntilS).toBe(2_000_000_000)
    const rotated = await endpoints.rotateSecret('p', e.id)
    expect(activeSecrets((await snap()).endpoints[0]!.secretFields)).toEqual([rotated.signing_secret])
    await endpoints.update('p', e.id, { status: 'disabled' })
    expect((await snap()).endpoints[0]!.enabled).toBe(false)

    const secret = await endpoints.signingSecret.get('p')
    expect((await snap()).callbackSecretFields?._secret).toBe(secret.signing_secret)
    await endpoints.signingSecret.rotate('p')
    expect((await snap()).callbackSecretFields?._secret).not.toBe(secret.signing_secret)

    await endpoints.delete('p', e.id)
    expect((await snap()).endpoints).toEqual([])
  })

  it('reads a snapshot used at more than half its age again in the background, so a project with traffic never waits for its re-read', async () => {
    const fx = await createRedisFixture('whc')
    onTestFinished(() => fx.cleanup())
    const stores = createStores(fx.redis, fx.prefix)
    const endpoints = stores.webhookEndpoints
    const maxAgeMs = 2_000
    const cache = createEndpointCache(endpoints, maxAgeMs)
    const snap = async () => (await cache.forBatch(['p'])).get('p')!
    const e = await endpoints.create('p', { url: 'https://example.com/a', name: 'a', event_types: ['thread.run.completed'] })
    const first = await snap()
    const filledAt = Date.now()
    // A write whose writer died before its version bump: only the snapshot's age brings it in.
    await fx.redis.hset(stores.keys.webhookEndpoint('p', e.id), 'url', JSON.stringify('https://example.com/b'))
    await new Promise((r) => setTimeout(r, maxAgeMs / 2 + 20))
    // Past half its age: still the cached one now (no wait for a re-read), and a re-read begins.
    expect(await snap()).toBe(first)
    await expect.poll(async () => (await snap()).endpoints[0]!.url).toBe('https://example.com/b')
    // Seen before the first snapshot's age ran out: the background read brought it in, not the batch.
    expect(Date.now() - filledAt).toBeLessThan(maxAgeMs)
  })
})
