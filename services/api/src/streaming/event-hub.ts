import { randomBytes } from 'node:crypto'
import type { Logger } from '@threadwork/logger'
import type { RedisClient } from '@threadwork/storage'

/** One entry of a run's live event stream (fields written by the worker and the commit scripts). */
export interface LiveEntry {
  /** The Redis stream entry id, `<ms>-<seq>`. */
  id: string
  event: string
  data: string
  /** The fencing token of the worker claim that wrote it; null for API-side entries. */
  fence: number | null
}

/** A reader's place in one stream. `next()` resolves with the entries after it, oldest first. */
export interface HubSubscription {
  /** Waits for at least one entry; null once the hub is closed. */
  next(): Promise<LiveEntry[] | null>
  /** Stops reading (idempotent); entries already read are dropped. */
  close(): void
}

export interface EventHubOptions {
  /** The API's command connection: it posts the wake-ups. */
  redis: RedisClient
  /** A new connection for one reader (a blocking XREAD holds its connection). */
  connect: () => RedisClient
  /** The key of a reader's wake-up stream; it must share the hash slot of `group`'s streams. */
  wakeKey: (group: number, readerId: string) => string
  log?: Logger
  /** Streams one blocking XREAD covers (its cost is O(streams) per call). Default 256. */
  maxStreamsPerReader?: number
  /** XREAD BLOCK timeout; only bounds how long a dead connection goes unnoticed. Default 10 000. */
  blockMs?: number
  /** XREAD COUNT: entries per stream per call. Default 512. */
  batch?: number
  /** Entries buffered for a subscriber that is not reading (a slow client) before its stream is paused. Default 2048. */
  highWater?: number
}

export type EventHub = ReturnType<typeof createEventHub>

/**
 * Reads many Redis Streams for many SSE responses over few connections.
 *
 * Subscribers are grouped by hash slot (`group`, the thread's shard, so the multi-key XREAD is
 * legal on a Redis Cluster), and each group's streams are shared by readers of up to
 * `maxStreamsPerReader` streams: one blocking `XREAD BLOCK … STREAMS wake k1 … kn` per reader. So
 * 1,000 concurrent SSE streams cost ~4 connections, not 1,000. A new (or resumed) subscriber
 * interrupts its reader's blocking call by appending to the reader's own wake stream, which is
 * part of every XREAD: no `CLIENT UNBLOCK` (which would need the node and client id), no race
 * (the reader's wake cursor makes an append that lands before the XREAD still wake it).
 *
 * Backpressure: the stream is the buffer. A subscriber more than `highWater` entries behind (its
 * client reads slowly) leaves the XREAD until it has caught up; it then resumes from its own
 * cursor, so a slow or late client still gets every entry and the process holds little memory.
 */
export function createEventHub(opts: EventHubOptions) {
  const maxPerReader = opts.maxStreamsPerReader ?? 256
  const blockMs = opts.blockMs ?? 10_000
  const batch = opts.batch ?? 512
  const highWater = opts.highWater ?? 2048
  const groups = new Map<number, Reader[]>()
  let closed = false

  function subscribe(key: string, group: number, from: string): HubSubscription {
    if (closed) return { next: async () => null, close() {} }
    let readers = groups.get(group)
    if (!readers) groups.set(group, (readers = []))
    let reader = readers.find((r) => r.streams < maxPerReader)
    if (!reader) {
      reader = new Reader(group)
      readers.push(reader)
    }
    return reader.add(key, from)
  }

  class Reader {
    readonly id = randomBytes(6).toString('hex')
    readonly wakeKey: string
    private wakeCursor = '0-0'
    private conn: RedisClient | null = null
    private readonly channels = new Map<string, Channel>()
    private blocking = false
    private wakePosted = false
    private idle: (() => void) | null = null
    private stopped = false
    private failures = 0
    streams = 0

    constructor(readonly group: number) {
      this.wakeKey = opts.wakeKey(group, this.id)
      void this.loop()
    }

    add(key: string, from: string): HubSubscription {
      let channel = this.channels.get(key)
      if (!channel) {
        channel = new Channel(key)
        this.channels.set(key, channel)
        this.streams++
      }
      const sub = new Sub(this, channel, from)
      channel.subs.add(sub)
      this.wake()
      return sub
    }

    remove(sub: Sub): void {
      const channel = sub.channel
      if (!channel.subs.delete(sub)) return
      if (channel.subs.size === 0 && this.channels.get(channel.key) === channel) {
        this.channels.delete(channel.key)
        this.streams--
        if (this.streams === 0) this.retireIfSpare()
      }
    }

    /** Makes the loop re-read its stream list now (a subscriber joined or resumed). */
    wake(): void {
      if (this.idle) {
        const resolve = this.idle
        this.idle = null
        resolve()
        return
      }
      if (!this.blocking || this.wakePosted) return
      this.wakePosted = true
      opts.redis
        .multi()
        .xadd(this.wakeKey, 'MAXLEN', '1', '*', 'w', '1')
        .expire(this.wakeKey, 600)
        .exec()
        .catch((err: Error) => opts.log?.warn({ err: err.message }, 'sse hub: wake-up failed'))
    }

    stop(): void {
      this.stopped = true
      for (const channel of this.channels.values()) for (const sub of channel.subs) sub.end()
      this.channels.clear()
      this.streams = 0
      this.idle?.()
      this.idle = null
      if (this.conn) {
        const conn = this.conn
        this.conn = null
        void opts.redis.del(this.wakeKey).catch(() => {})
        conn.disconnect()
      }
    }

    private retireIfSpare(): void {
      const readers = groups.get(this.group)
      if (!readers || readers.length <= 1) return
      readers.splice(readers.indexOf(this), 1)
      this.stop()
    }

    private async loop(): Promise<void> {
      while (!this.stopped && !closed) {
        const keys: string[] = []
        const ids: string[] = []
        for (const channel of this.channels.values()) {
          const cursor = channel.cursor()
          if (cursor === null) continue
          keys.push(channel.key)
          ids.push(cursor)
        }
        if (keys.length === 0) {
          await new Promise<void>((resolve) => {
            this.idle = resolve
          })
          continue
        }
        this.conn ??= opts.connect()
        this.blocking = true
        this.wakePosted = false
        let reply: [string, [string, string[]][]][] | null
        try {
          reply = (await this.conn.xread('COUNT', batch, 'BLOCK', blockMs, 'STREAMS', this.wakeKey, ...keys, this.wakeCursor, ...ids)) as typeof reply
          this.failures = 0
        } catch (err) {
          this.blocking = false
          if (this.stopped || closed) return
          // Redis unreachable or restarting: retry with backoff; subscribers just wait (their
          // SSE responses send keep-alives and give up on their own idle timeout).
          this.failures++
          if (this.failures === 1) opts.log?.warn({ err: (err as Error).message }, 'sse hub: XREAD failed, retrying')
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** this.failures, 2000)))
          continue
        }
        this.blocking = false
        if (!reply) continue
        let delivered = false
        for (const [key, entries] of reply) {
          if (key === this.wakeKey) {
            const last = entries.at(-1)
            if (last) this.wakeCursor = last[0]
            continue
          }
          const channel = this.channels.get(key)
          if (channel) {
            channel.deliver(entries)
            delivered = true
          }
        }
        // The subscribers' relays write what they were handed before the next XREAD goes out
        // (their promise continuations, then node's http uncork on nextTick, then this): sent
        // first, it held the first delta's frame back 0.2–0.3 ms in issue 14's trace, the wall
        // time of the call (a loopback write that wakes redis-server). Entries appended meanwhile
        // wait in the stream; the next XREAD returns them at once.
        if (delivered) await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
  }

  /** One stream of a reader, shared by every subscriber of it (two tabs on one run). */
  class Channel {
    readonly subs = new Set<Sub>()
    constructor(readonly key: string) {}

    /** Where the next XREAD starts: the least advanced subscriber still reading; null if all paused. */
    cursor(): string | null {
      let min: string | null = null
      for (const sub of this.subs) if (!sub.paused && (min === null || compareIds(sub.cursor, min) < 0)) min = sub.cursor
      return min
    }

    deliver(raw: [string, string[]][]): void {
      const entries = raw.map(toEntry)
      for (const sub of this.subs) sub.push(entries)
    }
  }

  class Sub implements HubSubscription {
    cursor: string
    paused = false
    private buffer: LiveEntry[] = []
    private waiter: ((entries: LiveEntry[] | null) => void) | null = null
    private ended = false

    constructor(
      private readonly reader: Reader,
      readonly channel: Channel,
      from: string,
    ) {
      this.cursor = from
    }

    push(entries: LiveEntry[]): void {
      if (this.paused || this.ended) return
      for (const e of entries) {
        if (compareIds(e.id, this.cursor) <= 0) continue
        this.buffer.push(e)
        this.cursor = e.id
      }
      if (this.buffer.length === 0) return
      if (this.waiter) {
        const resolve = this.waiter
        this.waiter = null
        const out = this.buffer
        this.buffer = []
        resolve(out)
      } else if (this.buffer.length >= highWater) {
        this.paused = true
      }
    }

    next(): Promise<LiveEntry[] | null> {
      if (this.buffer.length > 0) {
        const out = this.buffer
        this.buffer = []
        if (this.paused) {
          this.paused = false
          this.reader.wake()
        }
        return Promise.resolve(out)
      }
      if (this.ended) return Promise.resolve(null)
      return new Promise((resolve) => {
        this.waiter = resolve
      })
    }

    close(): void {
      if (this.ended) return
      this.end()
      this.reader.remove(this)
    }

    end(): void {
      this.ended = true
      this.buffer = []
      const resolve = this.waiter
      this.waiter = null
      resolve?.(null)
    }
  }

  return {
    subscribe,
    /** Readers (blocking connections) and streams being read, for metrics and the bench. */
    stats(): { readers: number; streams: number } {
      let readers = 0
      let streams = 0
      for (const list of groups.values()) {
        readers += list.length
        for (const r of list) streams += r.streams
      }
      return { readers, streams }
    },
    /** Ends every subscription (their `next()` resolves null) and disconnects the readers. */
    close(): void {
      if (closed) return
      closed = true
      for (const list of groups.values()) for (const r of list) r.stop()
      groups.clear()
    },
  }
}

/** A raw XREAD/XRANGE entry as a {@link LiveEntry}. */
export function toEntry([id, fields]: [string, string[]]): LiveEntry {
  let event = ''
  let data = ''
  let fence: number | null = null
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const f = fields[i]
    if (f === 'event') event = fields[i + 1]!
    else if (f === 'data') data = fields[i + 1]!
    else if (f === 'fence') fence = Number(fields[i + 1])
  }
  return { id, event, data, fence }
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  const ma = Number(da < 0 ? a : a.slice(0, da))
  const mb = Number(db < 0 ? b : b.slice(0, db))
  if (ma !== mb) return ma < mb ? -1 : 1
  const sa = da < 0 ? 0 : Number(a.slice(da + 1))
  const sb = db < 0 ? 0 : Number(b.slice(db + 1))
  return sa === sb ? 0 : sa < sb ? -1 : 1
}
