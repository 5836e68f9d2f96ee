import { redisNodes } from './redis.js'
import type { RedisClient } from './scripts.js'

/**
 * How an accepted write reaches the disk before the API answers 2xx:
 * - `waitaof`: Redis ≥ 7.2 with AOF on: the API sends `WAITAOF 1 0 <timeout>` after the write and
 *   answers once the local AOF has fsynced it (redis.io/commands/waitaof).
 * - `fsync-always`: Redis < 7.2 with `appendfsync always`: every write is fsynced before Redis
 *   replies, so nothing is left to wait for.
 * - `everysec`: AOF with `appendfsync everysec` on Redis < 7.2: a crash can lose up to ~1 s of
 *   acknowledged writes. Set `appendfsync always` (infra/redis.conf) or move to Redis ≥ 7.2.
 * - `none`: AOF is off: acknowledged writes live only in memory.
 */
export type DurabilityMode = 'waitaof' | 'fsync-always' | 'everysec' | 'none'

export interface DurabilityInfo {
  mode: DurabilityMode
  /** The lowest version among the (master) nodes. */
  version: string
  appendfsync: string
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? ''
const versionParts = (v: string) => v.split('.').map((x) => Number(x) || 0)
const versionAtLeast = (v: string, major: number, minor: number) => {
  const [a = 0, b = 0] = versionParts(v)
  return a > major || (a === major && b >= minor)
}
const compareVersions = (x: string, y: string) => {
  const a = versionParts(x)
  const b = versionParts(y)
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

/** Reads each node's version and AOF settings and picks the mode (the weakest node decides). */
export async function detectDurability(redis: RedisClient): Promise<DurabilityInfo> {
  const nodes = redisNodes(redis)
  const per = await Promise.all(
    nodes.map(async (node) => {
      const info = await node.info()
      // CONFIG may be renamed or denied on managed Redis: then assume the default, everysec.
      const fsync = await node
        .config('GET', 'appendfsync')
        .then((r) => String((r as string[])[1] ?? 'everysec'))
        .catch(() => 'everysec')
      return { version: infoField(info, 'redis_version'), aof: infoField(info, 'aof_enabled') === '1', fsync }
    }),
  )
  const version = per.map((p) => p.version).sort(compareVersions)[0] ?? ''
  const appendfsync = per.find((p) => p.fsync !== 'always')?.fsync ?? 'always'
  let mode: DurabilityMode
  if (per.some((p) => !p.aof)) mode = 'none'
  else if (per.every((p) => versionAtLeast(p.version, 7, 2))) mode = 'waitaof'
  else if (appendfsync === 'always') mode = 'fsync-always'
  else mode = 'everysec'
  return { mode, version, appendfsync }
}

/**
 * `WAITAOF 1 0 <timeoutMs>` on every node (a Cluster's masters): resolves true once each has
 * fsynced every write this client sent it before the call. WAITAOF covers the connection it is
 * sent on, which is the one the API's writes went through.
 */
export async function waitAof(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  const replies = await Promise.all(redisNodes(redis).map((n) => n.call('WAITAOF', '1', '0', String(timeoutMs)) as Promise<[number, number]>))
  return replies.every((r) => Number(r[0]) >= 1)
}
