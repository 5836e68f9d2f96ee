import type { ChunkingStrategy, VectorStoreFileLastError } from '@threadwork/domain'
import type { Keys } from './keys.js'
import claimLua from './lua/claimThread-2.lua'
import popLua from './lua/popMailboxHead-2.lua'
import settleLua from './lua/settleVectorStoreFile-4.lua'
import setUsageLua from './lua/setVectorStoreUsage-1.lua'
import startLua from './lua/startVectorStoreFile-3.lua'
import { type RedisClient, runScript, script } from './scripts.js'

// The thread claim is generic: INCR a fence, peek a mailbox.
const claim = script('claimThread', claimLua)
const pop = script('popMailboxHead', popLua)
const start = script('startVectorStoreFile', startLua)
const settle = script('settleVectorStoreFile', settleLua)
const setUsage = script('setVectorStoreUsage', setUsageLua)

/** A store mailbox item: ingest a file (at an attach generation), drop its chunks, or copy its attributes. */
export type IngestItem =
  | { kind: 'ingest'; fileId: string; gen: string }
  | { kind: 'delete'; fileId: string }
  | { kind: 'attrs'; fileId: string }
  | { kind: 'unknown' }

export function parseIngestItem(item: string): IngestItem {
  const [kind, fileId, gen] = item.split(':')
  if (kind === 'ingest' && fileId && gen) return { kind, fileId, gen }
  if ((kind === 'delete' || kind === 'attrs') && fileId) return { kind, fileId }
  return { kind: 'unknown' }
}

/** What the worker needs to ingest one store file. */
export interface StartedFile {
  attempts: number
  filename: string
  chunking_strategy: ChunkingStrategy
  attributes: Record<string, string | number | boolean> | null
}

export type IngestStore = ReturnType<typeof createIngestStore>

/**
 * The worker's side of vector store ingestion: claim a store (fence), walk its mailbox, and commit
 * each file's outcome with its counts in one step. Mirrors the per-thread mailbox + drain pattern
 * (services/worker/README.md): the head is peeked, never popped before its commit.
 */
export function createIngestStore(redis: RedisClient, k: Keys) {
  return {
    /** A new fence for this attempt and the mailbox head; null head = nothing to do. */
    async claim(project: string, id: string): Promise<{ fence: number; head: string | null }> {
      const [fence, head] = await runScript<[number, string | null]>(redis, claim, [k.vectorStoreFence(project, id), k.vectorStoreMailbox(project, id)], [])
      return { fence, head }
    },

    /** The store's current fence (the latest claim's). */
    fence: async (project: string, id: string): Promise<number> => Number(await redis.get(k.vectorStoreFence(project, id))),
    /** The mailbox head now. */
    head: (project: string, id: string): Promise<string | null> => redis.lindex(k.vectorStoreMailbox(project, id), 0),
    /** The first `count` mailbox items, head first (none popped): the candidates for one ingestion batch. */
    peek: (project: string, id: string, count: number): Promise<string[]> => redis.lrange(k.vectorStoreMailbox(project, id), 0, Math.max(0, count - 1)),

    storeExists: async (project: string, id: string) => (await redis.exists(k.vectorStore(project, id))) === 1,

    /**
     * Counts an attempt at the head file (`count: false`: reads a later file of a batch without
     * counting; `attempts` is then those counted so far): `stale` when it was removed, cancelled
     * or attached again, `fenced` when a newer claim owns the store.
     */
    async start(project: string, id: string, fileId: string, gen: string, fence: number, opts: { count?: boolean } = {}): Promise<StartedFile | 'stale' | 'fenced'> {
      const reply = await runScript<[string, number?, string[]?]>(redis, start, [k.vectorStoreFile(project, id, fileId), k.vectorStoreFence(project, id), k.vectorStore(project, id)], [
        fence,
        gen,
        opts.count === false ? '0' : '1',
      ])
      if (reply[0] === 'FENCED') return 'fenced'
      if (reply[0] === 'STALE') return 'stale'
      const raw = reply[2] ?? []
      const field = (name: string) => {
        for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === name) return JSON.parse(raw[i + 1]!)
        return null
      }
      return { attempts: Number(reply[1]), filename: field('_filename') ?? '', chunking_strategy: field('chunking_strategy'), attributes: field('attributes') }
    },

    /** Commits a file's outcome (status, error, usage, counts, pop). See settleVectorStoreFile-4.lua. */
    settle(
      project: string,
      id: string,
      o: { fence: number; head: string; fileId: string; gen: string; status: 'completed' | 'failed'; lastError: VectorStoreFileLastError | null; fileUsageBytes: number; storeUsageBytes: number },
    ): Promise<'OK' | 'FENCED' | 'GONE' | 'STALE'> {
      return runScript(
        redis,
        settle,
        [k.vectorStore(project, id), k.vectorStoreFile(project, id, o.fileId), k.vectorStoreMailbox(project, id), k.vectorStoreFence(project, id)],
        [o.fence, o.head, o.gen, o.status, JSON.stringify(o.lastError), Math.round(o.fileUsageBytes), Math.round(o.storeUsageBytes), k.vectorStore(project, id), k.vectorStoreBatchPrefix(project), o.fileId],
      )
    },

    /** Pops the head if still ours (fence) and still the head. */
    async pop(project: string, id: string, fence: number, head: string): Promise<boolean> {
      return (await runScript<number>(redis, pop, [k.vectorStoreMailbox(project, id), k.vectorStoreFence(project, id)], [fence, head])) === 1
    },

    /** The store's `usage_bytes` after a removal (only while the store exists). */
    async setUsage(project: string, id: string, usageBytes: number): Promise<void> {
      await runScript(redis, setUsage, [k.vectorStore(project, id)], [Math.round(usageBytes)])
    },

    /** Current attributes of a store file (null when it left the store). */
    async attributes(project: string, id: string, fileId: string): Promise<Record<string, string | number | boolean> | null | undefined> {
      const raw = await redis.hget(k.vectorStoreFile(project, id, fileId), 'attributes')
      return raw == null ? undefined : JSON.parse(raw)
    },

    /** After the store was deleted: its fence and any work left are dropped too. */
    async forget(project: string, id: string): Promise<void> {
      await redis.del(k.vectorStoreFence(project, id), k.vectorStoreMailbox(project, id))
    },

    /** Marks the store as having queued work (the reconciler's backstop against a lost enqueue). */
    markPending: (project: string, id: string) => redis.zadd(k.vectorStoresPending, Date.now(), `${project}/${id}`),
    /** Clears the mark once the mailbox is empty. */
    async clearPendingIfIdle(project: string, id: string): Promise<void> {
      if ((await redis.llen(k.vectorStoreMailbox(project, id))) === 0) await redis.zrem(k.vectorStoresPending, `${project}/${id}`)
    },
    stalePending: (olderThanMs: number) => redis.zrangebyscore(k.vectorStoresPending, '-inf', Date.now() - olderThanMs, 'LIMIT', 0, 500),
  }
}
