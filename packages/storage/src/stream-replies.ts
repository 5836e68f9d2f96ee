import type { RedisClient } from './scripts.js'

/**
 * `a` before `b` (negative), same (0) or after (positive), for Redis stream ids `<ms>-<seq>`
 * (compared numerically: both parts can outgrow a double's exact range, hence BigInt).
 */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt)
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt)
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1
}

/** A flat `[k, v, k, v, …]` reply (XINFO GROUPS / CONSUMERS entries) as an object. */
export function replyPairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]
  return out
}

/**
 * Removes the consumers of `group` on stream `key` that belonged to stopped processes: nothing
 * pending and idle longer than `idleMs` (ms), except `self`. A missing stream or group removes
 * nothing; other Redis errors propagate.
 */
export async function removeDeadConsumers(redis: RedisClient, key: string, group: string, idleMs: number, self?: string): Promise<void> {
  const consumers = (
    (await redis.xinfo('CONSUMERS', key, group).catch((err: Error) => {
      if (/NOGROUP|no such key/i.test(err.message)) return []
      throw err
    })) as unknown[][]
  ).map(replyPairs)
  for (const c of consumers) {
    if (c.name !== self && Number(c.pending) === 0 && Number(c.idle) > idleMs) await redis.xgroup('DELCONSUMER', key, group, String(c.name))
  }
}
