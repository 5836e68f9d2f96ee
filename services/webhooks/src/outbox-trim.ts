import { type RedisClient, compareStreamIds, removeDeadConsumers, replyPairs } from '@threadwork/storage'
import { GROUP } from '@threadwork/webhook-delivery'

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
  const older = (a: string, b: string) => compareStreamIds(a, b) < 0
  for (const raw of groups) {
    const g = replyPairs(raw)
    let need = String(g['last-delivered-id'] ?? '0-0')
    if (Number(g.pending ?? 0) > 0) {
      const summary = (await redis.xpending(key, String(g.name))) as [number, string | null, string | null, unknown]
      if (summary[1] && older(summary[1], need)) need = summary[1]
    }
    if (keepFrom === null || older(need, keepFrom)) keepFrom = need
  }
  if (keepFrom && keepFrom !== '0-0') await redis.xtrim(key, 'MINID', '~', keepFrom)

  await removeDeadConsumers(redis, key, GROUP, DEAD_CONSUMER_IDLE_MS, self)
}
