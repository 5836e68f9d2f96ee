import { readFileSync, readdirSync } from 'node:fs'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from './redis-fixture.js'
import { startServiceProcess } from './service-process.js'

/** Pids of live processes whose environment holds `marker` (Linux /proc). */
function processesWith(marker: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids
}

describe('startServiceProcess', () => {
  it('ends a service that is not ready in time instead of leaving it running', async () => {
    const marker = `TW_TEST_MARKER=${uniquePrefix('svc')}`
    const [key, value] = marker.split('=') as [string, string]
    onTestFinished(async () => {
      const redis = new Redis(TEST_REDIS_URL)
      await deleteKeysWithPrefix(redis, value)
      await redis.quit()
    })
    await expect(startServiceProcess('webhooks', { [key]: value, REDIS_PREFIX: value }, { readyMessage: 'a line it never prints', timeoutMs: 1_500 })).rejects.toThrow(/not ready after 1500 ms/)
    await expect.poll(() => processesWith(marker), { timeout: 10_000 }).toEqual([])
  })
})
