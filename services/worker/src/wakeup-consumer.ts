import { hostname } from 'node:os'
import type { Logger } from '@threadwork/logger'
import { DRAIN_GROUP, type Keys, type RedisClient, type ThreadWakeups, type WakeHint, isRedisConnectionError, wakeEntryOf } from '@threadwork/storage'
import type { DrainEnd } from './processors/drain-thread.js'

/** How long one blocking read waits for wake-ups before it looks at closing and free slots again (ms). */
const BLOCK_MS = 2000

export interface WakeupConsumerDeps {
  /** Non-blocking commands (lease renewals, takeovers, releases). */
  redis: RedisClient
  /** A dedicated connection for one shard's blocking read (a blocked connection serves nothing else). */
  connect: (shard: number) => RedisClient
  keys: Keys
  wakeups: ThreadWakeups
  /**
   * Drains one thread (processors/drain-thread.ts), holding wake-up entry `entryId`; `hint`: what
   * the entry says will head the mailbox (read beside the claim), null when it says nothing.
   */
  drain: (threadId: string, entryId: string, hint: WakeHint | null) => Promise<DrainEnd>
  /** Drains at once per shard (`WORKER_CONCURRENCY`). */
  concurrency: number
  /**
   * The lease (`WORKER_LOCK_MS`, ms): a wake-up held this long without renewal belonged to a
   * crashed or stalled worker and is taken over by whichever worker looks next. Renewed every third.
   */
  leaseMs: number
  log: Logger
  /** Each drain's end (metrics): 'failed' when it threw; its wake-up is then retried after the lease. */
  onDrain?: (shard: number, outcome: 'completed' | 'failed') => void
  /** This process's consumer name in the group; default host, pid and a random tag. */
  consumer?: string
}

type Entry = [id: string, fields: string[] | null]

/**
 * Reads the shards' wake-up streams (storage `thread-wakeups.ts`) with the consumer group `drain`
 * and drains each woken thread, up to `concurrency` at once per shard; replaces BullMQ's Worker for
 * drains (issue 14). What BullMQ gave, and how it is kept:
 * - a crashed worker's drains come back: unacked entries whose lease lapsed are taken over with
 *   XAUTOCLAIM (≤ `leaseMs` + a third); the thread's fence makes a stalled original harmless;
 * - no lost wakeup and one drain per thread: the wake key (wakeThread/releaseThread scripts);
 * - a failed drain is retried: its entry stays unacked and is taken over after the lease;
 * - graceful stop: no new reads; in-flight drains finish or hand their thread over at once.
 */
export function createWakeupConsumer(deps: WakeupConsumerDeps) {
  const { redis, keys, wakeups, log } = deps
  const consumer = deps.consumer ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  let closing = false
  const shards = Array.from({ length: keys.shards }, (_, shard) => shardConsumer(shard))

  function shardConsumer(shard: number) {
    const key = keys.wakeups(shard)
    /** Entries being drained here: id → thread id. */
    const inflight = new Map<string, string>()
    let slotFreed: (() => void) | null = null
    let allDone: (() => void) | null = null
    let conn: RedisClient | null = null
    let loop: Promise<void> = Promise.resolve()
    /** Where the next takeover scan of the group's held entries starts ('0-0': from the oldest). */
    let cursor = '0-0'

    function drainEntry(id: string, threadId: string, hint: WakeHint | null): void {
      if (inflight.has(id)) return
      inflight.set(id, threadId)
      void (async () => {
        let outcome: 'completed' | 'failed' = 'completed'
        try {
          for (let pass = 0; ; pass++) {
            // The hint describes the mailbox as the entry was written: only the first pass may use it.
            const end = await deps.drain(threadId, id, pass === 0 ? hint : null)
            // A newer claim holds the thread (it took this entry over, or holds a fresh one): its
            // drain lets go. Left unacked here, this entry is otherwise taken over and released.
            // 'released': the commit that emptied the mailbox let the entry go itself.
            if (end === 'fenced' || end === 'released') break
            if ((await wakeups.release(threadId, id, end === 'handed_back' ? 'handover' : 'release')) === 'DONE') break
          }
        } catch (err) {
          outcome = 'failed'
          if (!isRedisConnectionError(err)) log.warn({ threadId, err: (err as Error).message }, 'drain failed; retried after the lease')
        } finally {
          inflight.delete(id)
          deps.onDrain?.(shard, outcome)
          slotFreed?.()
          if (inflight.size === 0) allDone?.()
        }
      })()
    }

    async function readLoop(): Promise<void> {
      let groupReady = false
      while (!closing) {
        const free = deps.concurrency - inflight.size
        if (free <= 0) {
          await new Promise<void>((resolve) => (slotFreed = resolve))
          slotFreed = null
          continue
        }
        let reply: [string, Entry[]][] | null
        try {
          if (!groupReady) await wakeups.ensureGroup(shard)
          groupReady = true
          conn ??= deps.connect(shard)
          reply = (await conn.xreadgroup('GROUP', DRAIN_GROUP, consumer, 'COUNT', free, 'BLOCK', BLOCK_MS, 'STREAMS', key, '>')) as typeof reply
        } catch (err) {
          if (closing) break
          // The stream was lost (a Redis restart without persistence): make the group again.
          if (/NOGROUP/.test((err as Error).message)) groupReady = false
          else await new Promise((r) => setTimeout(r, 1000))
          continue
        }
        for (const [, entries] of reply ?? []) for (const [id, fields] of entries) if (fields) take(id, fields)
      }
    }

    /** An entry read or taken over: drained, or straight back to the others when stopping. */
    function take(id: string, fields: string[]): void {
      const { threadId, hint } = wakeEntryOf(fields)
      if (!closing) drainEntry(id, threadId, hint)
      else wakeups.release(threadId, id, 'handover').catch(() => {})
    }

    /** Renews the leases of this shard's drains, then takes over lapsed ones while slots are free. */
    async function tick(): Promise<void> {
      if (inflight.size > 0) {
        // Only entries still ours: one taken over by another worker after a stall stays theirs.
        // Besides these, only entries awaiting takeover (a failed or superseded drain's) are ours: a margin.
        const mine = (await redis.xpending(key, DRAIN_GROUP, '-', '+', inflight.size + 100, consumer)) as [string, ...unknown[]][]
        const renew = mine.map((p) => p[0]).filter((id) => inflight.has(id))
        if (renew.length > 0) await redis.xclaim(key, DRAIN_GROUP, consumer, 0, ...renew, 'JUSTID')
      }
      const free = deps.concurrency - inflight.size
      if (closing || free <= 0) return
      // XAUTOCLAIM looks at up to 10 × COUNT held entries per call: the cursor carries on from
      // there next time, so a lapsed entry behind many live ones is still reached.
      const [next, claimed] = (await redis.xautoclaim(key, DRAIN_GROUP, consumer, deps.leaseMs, cursor, 'COUNT', free)) as [string, Entry[]]
      cursor = next
      for (const [id, fields] of claimed) if (fields) take(id, fields)
    }

    return {
      start(): void {
        loop = readLoop()
      },
      tick,
      inflight,
      /** Stops reading; resolves when this shard's drains have ended. */
      async close(): Promise<void> {
        slotFreed?.()
        conn?.disconnect()
        await loop
        if (inflight.size > 0) await new Promise<void>((resolve) => (allDone = resolve))
      },
    }
  }

  let timer: NodeJS.Timeout | null = null
  let ticking = false
  return {
    consumer,
    /** Drains running now, over every shard. */
    get size(): number {
      return shards.reduce((n, s) => n + s.inflight.size, 0)
    },
    start(): void {
      for (const s of shards) s.start()
      timer = setInterval(
        () => {
          if (ticking) return
          ticking = true
          Promise.all(shards.map((s) => s.tick()))
            .catch((err) => isRedisConnectionError(err) || log.warn({ err: (err as Error).message }, 'wake-up lease renewal failed'))
            .finally(() => {
              ticking = false
            })
        },
        Math.max(100, Math.floor(deps.leaseMs / 3)),
      )
    },
    /** Graceful stop: no new wake-ups; leases are renewed until every drain in flight has ended. */
    async close(): Promise<void> {
      closing = true
      await Promise.all(shards.map((s) => s.close()))
      if (timer) clearInterval(timer)
    },
  }
}
export type WakeupConsumer = ReturnType<typeof createWakeupConsumer>
