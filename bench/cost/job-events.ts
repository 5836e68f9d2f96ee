/**
 * Counts BullMQ jobs from the outside: every queue writes its job events (`added`, `delayed`,
 * `active`, `completed`, …) to the stream `<prefix>:<queue>:events`; a reader on its own
 * connection follows those streams during a window and tallies them per queue and type. Nothing
 * in the services changes. The streams are trimmed (~10,000 entries), so the reader checks itself
 * against XINFO STREAM `entries-added` (Redis ≥ 7) and reports events it could not see.
 */
import type { Redis } from 'ioredis'

export interface JobEventCounts {
  /** queue name → event type → count. */
  byQueue: Map<string, Map<string, number>>
  /** Events written during the window that the reader missed (trimmed before it read them); 0 when exact. */
  missed: number
  /** Commands the reader itself sent before stop(), by name, to take out of the window's commandstats. */
  ownCalls: Record<string, number>
}

/** The queues under `prefix`, found by their `<prefix>:<queue>:meta` hash. */
export async function findQueues(redis: Redis, prefix: string): Promise<string[]> {
  const names = new Set<string>()
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*:meta`, 'COUNT', 1000)
    cursor = next
    for (const key of batch) names.add(key.slice(prefix.length + 1, -':meta'.length))
  } while (cursor !== '0')
  return [...names].sort()
}

const entriesAdded = async (redis: Redis, key: string): Promise<number> => {
  const info = (await redis.call('XINFO', 'STREAM', key).catch(() => null)) as unknown[] | null
  if (!info) return 0
  const i = info.indexOf('entries-added')
  return i >= 0 ? Number(info[i + 1]) : Number.NaN
}

/**
 * Starts following the event streams of `queues` from now on; `stop()` ends the window and
 * returns the tallies. `redis` must be a connection of its own (XREAD BLOCK holds it).
 */
export async function followJobEvents(redis: Redis, prefix: string, queues: readonly string[]) {
  const keys = queues.map((q) => `${prefix}:${q}:events`)
  const ownCalls: Record<string, number> = { xinfo: 0, xread: 0 }
  const startAdded = await Promise.all(keys.map((k) => entriesAdded(redis, k)))
  ownCalls.xinfo! += keys.length
  // `$` would be re-read as "new from now" on every call: take each stream's last id instead.
  const ids = await Promise.all(keys.map(async (k) => ((await redis.xrevrange(k, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0')))
  ownCalls.xrevrange = keys.length
  const byQueue = new Map(queues.map((q) => [q, new Map<string, number>()]))
  let seen = 0
  let stopping = false
  /**
   * Reads and tallies the entries after `ids`; how many it read. `block` in ms, or none: the
   * non-blocking reads are the drain after stop(), not counted in `ownCalls` (sent after the window).
   */
  const readOnce = async (block?: number): Promise<number> => {
    const args = block === undefined ? [] : ['BLOCK', block]
    const res = (await redis.xread('COUNT', 5000, ...(args as ['BLOCK', number]), 'STREAMS', ...keys, ...ids)) as
      | [string, [string, string[]][]][]
      | null
    if (block !== undefined) ownCalls.xread!++
    let read = 0
    for (const [key, entries] of res ?? []) {
      const q = queues[keys.indexOf(key)]!
      const tally = byQueue.get(q)!
      for (const [id, fields] of entries) {
        ids[keys.indexOf(key)] = id
        const type = fields[fields.indexOf('event') + 1] ?? '?'
        tally.set(type, (tally.get(type) ?? 0) + 1)
        read++
      }
    }
    seen += read
    return read
  }
  const loop = (async () => {
    while (!stopping) await readOnce(100)
    // The last blocking read may have returned with only the first of the events written before
    // stop() (it wakes at the first): read, without blocking, what is left up to now.
    while ((await readOnce()) > 0) {}
    // A connection closed under a pending XREAD (the bench tearing down after a failure) ends the reader quietly.
  })().catch(() => {})
  return {
    async stop(): Promise<JobEventCounts> {
      stopping = true
      await loop
      const endAdded = await Promise.all(keys.map((k) => entriesAdded(redis, k)))
      ownCalls.xinfo! += keys.length
      const written = endAdded.reduce((s, n, i) => s + n - startAdded[i]!, 0)
      return { byQueue, missed: Math.max(0, written - seen), ownCalls }
    },
  }
}

/** Jobs a queue got in the window: each add writes one `added` (or `delayed`, for a delayed add) event. */
export function jobsAdded(tally: Map<string, number> | undefined): number {
  return tally?.get('added') ?? 0
}
