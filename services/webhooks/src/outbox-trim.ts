import type { RedisClient } from '@threadwork/storage'
import { GROUP } from './jobs.js'

/** Dead consumers (no pending entries, idle this long) are removed from the group. */
const DEAD_CONSUMER_IDLE_MS = 24 * 3600 * 1000

/**
 * Drops what every consumer group of the outbox stream `key` has read and acknowledged
 * (XTRIM MINID ~ below the oldest entry still needed: a group's oldest pending entry, else its
 * last-delivered id), and the `dispatch` group's dead consumers: those other than `self` with
 * nothing pending, idle a day. Redis errors propagate (the caller retries on its next pass).
 */
export async function trimOutbox(redis: RedisClient, key: string, self: string): Promise<void> {
  const groups = (await redis.xinfo('GROUPS', key)) as unknown[][]
  let keepFrom: string | null = null
  const older = (a: string, b: string) => compareIds(a, b) < 0
  for (const raw of groups) {
    const g = pairs(raw)
    let need = String(g['last-delivered-id'] ?? '0-0')
    if (Number(g.pending ?? 0) > 0) {
      const summary = (await redis.xpending(key, String(g.name))) as [number, string | null, string | null, unknown]
      if (summary[1] && older(summary[1], need)) need = summary[1]
    }
    if (keepFrom === null || older(need, keepFrom)) keepFrom = need
  }
  if (keepFrom && keepFrom !== '0-0') await redis.xtrim(key, 'MINID', '~', keepFrom)

  const consumers = (await redis.xinfo('CONSUMERS', key, GROUP)) as unknown[][]
  for (const raw of consumers) {
    const c = pairs(raw)
    if (c.name !== self && Number(c.pending) === 0 && Number(c.idle) > DEAD_CONSUMER_IDLE_MS) {
      await redis.xgroup('DELCONSUMER', key, GROUP, String(c.name))
    }
  }
}

/** A flat `[k, v, k, v]` reply as an object. */
function pairs(raw: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1]
  return out
}

/** Orders stream ids `ms-seq` numerically. */
function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt)
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt)
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1
}
