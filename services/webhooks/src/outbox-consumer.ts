import type { Logger } from '@threadwork/logger'
import { CALLBACK_OWNER, type Keys, type RedisClient, type WebhookEndpointSnapshot, type WebhookEndpointStore, activeSecrets } from '@threadwork/storage'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { type AttemptTarget, type DeliveryJob, GROUP, deliveryJobId, jobOptions } from '@threadwork/webhook-delivery'
import { createEndpointCache } from './endpoint-cache.js'
import { fifoMember } from './fifo.js'
import type { BehindRead, FirstAttempts, OutboxEvent, QueuedDelivery } from './first-attempts.js'
import { trimOutbox } from './outbox-trim.js'

/** Entries read per round trip. */
const BATCH = 100
/** Test sends are answered within seconds; their body need not outlive that. */
const TEST_EVENT_RETENTION_SECONDS = 3600

export interface OutboxConsumerDeps {
  /** Commands (never blocking: reads use no BLOCK, so this may be shared). */
  redis: RedisClient
  /** A dedicated connection for SUBSCRIBE. */
  subscriber: Redis
  /**
   * Creates a dedicated connection per shard stream for a blocking XREADGROUP (a blocked connection
   * serves nothing else). Without it, shard streams are read when nudged or polled, as the control
   * stream always is.
   */
  connect?: (name: string) => Redis
  keys: Keys
  endpoints: WebhookEndpointStore
  queues: readonly Queue<DeliveryJob>[]
  log: Logger
  /** Unique among live dispatchers; stable across restarts where possible (host + pid). */
  consumer: string
  pollMs: number
  /** Entries pending this long with any consumer are claimed (their reader probably died). */
  reclaimIdleMs: number
  eventRetentionSeconds: number
  /** How often the stream is trimmed and dead consumers removed (default 10 s). */
  trimEveryMs?: number
  /** Marks a batch's jobs that start throttled (fairness.ts `throttleFanOut`). */
  throttle?: (jobs: BulkJob[]) => Promise<void>
  /** First attempts made here, straight from the outbox (first-attempts.ts); without it every delivery is a job. */
  firstAttempts?: FirstAttempts
}

/** A delivery job as `Queue.addBulk` takes it. */
export interface BulkJob {
  name: string
  data: DeliveryJob
  opts: ReturnType<typeof jobOptions>
}

/** An entry that can never be processed: acknowledged and logged, so it cannot block the shard. */
class MalformedEntry extends Error {}

/** One event of an outbox entry, decoded (`data` parsed). */
interface DecodedEvent {
  evt: string
  type: string
  data: unknown
  callbackUrl: string | null
  /** Its place in a packed entry; null for an entry of one event. */
  sub: number | null
}

/** An outbox entry's shared fields and its events, in commit order. */
interface DecodedEntry {
  project: string
  thread: string | null
  createdAt: number
  events: DecodedEvent[]
}

interface StreamState {
  key: string
  shard: number
  control: boolean
  running: Promise<void> | null
  again: boolean
  lastReclaim: number
  lastTrim: number
  /** Read our own pending entries again on the next pass (at start, and after a failed handling). */
  rereadOwn: boolean
  /** The connection of this stream's blocking read (`follow`), while one runs. */
  follower: Redis | null
  /** The last entry this consumer read from the stream as new ('>'), '' before the first: where the checks behind a read start. */
  lastRead: string
}

/**
 * Reads the shards' outbox streams (and the API's control stream) with the consumer group
 * `dispatch`, and turns each entry into delivery jobs: one per subscribed endpoint of the entry's
 * project, plus the turn's callback_url. An entry is acknowledged only after all its jobs exist
 * (and its FIFO members, for ordering), so a dispatcher killed mid-way leaves it pending, and
 * XAUTOCLAIM hands it to a live one. Job ids make the re-run idempotent.
 *
 * Shard streams are followed with a blocking XREADGROUP on a connection of their own (`follow`):
 * a committed event reaches the dispatcher in one hop, not a nudge and then a read (issue 14,
 * latency). The control stream (and every stream without `connect`) is read when the pub/sub
 * nudge comes; a periodic poll covers lost nudges (pub/sub is at-most-once) and runs the
 * housekeeping (reclaim, trim) of every stream.
 */
export function startOutboxConsumer(deps: OutboxConsumerDeps) {
  const { redis, keys: k, endpoints, log } = deps
  const reclaimEveryMs = Math.max(500, Math.floor(deps.reclaimIdleMs / 2))
  const trimEveryMs = deps.trimEveryMs ?? 10_000
  const streams: StreamState[] = [
    ...Array.from({ length: k.shards }, (_, shard) => ({ key: k.outbox(shard), shard, control: false })),
    { key: k.webhookControl, shard: 0, control: true },
  ].map((s) => ({ ...s, running: null, again: false, lastReclaim: 0, lastTrim: Date.now(), rereadOwn: true, follower: null, lastRead: '' }))
  let closing = false

  const queueOf = (shard: number) => {
    const q = deps.queues[shard]
    if (!q) throw new Error(`no webhook queue for shard ${shard}`)
    return q
  }

  async function ensureGroup(key: string): Promise<void> {
    try {
      // From the start of the stream: events committed before the first dispatcher ran still go out.
      await redis.xgroup('CREATE', key, GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err
    }
  }

  const endpointCache = createEndpointCache(endpoints)
  /**
   * Entries this dispatcher claimed from others or re-read are pending under this name while
   * they are queued, so first attempts (its own included) count them as another consumer's.
   */
  const recoveryConsumer = `${deps.consumer}~r`

  /**
   * An outbox entry's events, in commit order: its own fields for one event (`evt`, `type`, `data`
   * JSON, `callback_url`), or for a commit's several, `events` = JSON `[[evt, type, data,
   * callback_url], …]` (commitRun-6.lua). `sub` is an event's place in a packed entry (its FIFO
   * member and job carry it), null for an entry of one event.
   */
  function decodeEntry(f: Record<string, string>): DecodedEntry {
    const { project } = f
    const createdAt = Number(f.created_at)
    if (!project || !Number.isInteger(createdAt)) throw new MalformedEntry('missing field')
    const thread = f.thread || null
    if (f.events !== undefined) {
      let list: unknown
      try {
        list = JSON.parse(f.events)
      } catch {
        throw new MalformedEntry('events is not JSON')
      }
      if (!Array.isArray(list) || list.length === 0) throw new MalformedEntry('events is not a list')
      const events = list.map((e: unknown, sub): DecodedEvent => {
        if (!Array.isArray(e) || typeof e[0] !== 'string' || !e[0] || typeof e[1] !== 'string' || !e[1] || e[2] === undefined)
          throw new MalformedEntry('malformed event in events')
        return { evt: e[0], type: e[1], data: e[2], callbackUrl: typeof e[3] === 'string' && e[3] ? e[3] : null, sub }
      })
      return { project, thread, createdAt, events }
    }
    const { evt, type, data } = f
    if (!evt || !type || data === undefined) throw new MalformedEntry('missing field')
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      throw new MalformedEntry('data is not JSON')
    }
    return { project, thread, createdAt, events: [{ evt, type, data: parsed, callbackUrl: f.callback_url || null, sub: null }] }
  }

  /**
   * One event of an entry, with its body built once, and its targets ([] when nobody receives it):
   * the project's enabled endpoints subscribed to its type, and its callback_url; with where
   * each goes and what signs it, as of this batch (`snapshot`).
   */
  function parseEvent(
    s: StreamState,
    id: string,
    entry: DecodedEntry,
    e: DecodedEvent,
    snapshot: WebhookEndpointSnapshot | undefined,
  ): { ev: OutboxEvent; targets: string[] } {
    const { project, thread, createdAt } = entry
    const { evt, type, callbackUrl } = e
    const resolved = new Map<string, AttemptTarget>()
    for (const ep of snapshot?.endpoints ?? []) {
      if (ep.enabled && ep.eventTypes.includes(type))
        resolved.set(ep.id, { url: ep.url, secrets: activeSecrets(ep.secretFields), pausedUntilS: ep.pausedUntilS })
    }
    const targets = [...resolved.keys()]
    if (callbackUrl) {
      targets.push(CALLBACK_OWNER)
      // Before the project's secret exists, the attempt creates it (attempt.ts resolveTarget).
      if (snapshot?.callbackSecretFields)
        resolved.set(CALLBACK_OWNER, { url: callbackUrl, secrets: activeSecrets(snapshot.callbackSecretFields), pausedUntilS: null })
    }
    // Built once: every attempt to every target sends these exact bytes.
    const body = targets.length === 0 ? '' : JSON.stringify({ id: evt, object: 'event', type, created_at: createdAt, data: e.data })
    const ev: OutboxEvent = {
      streamKey: s.key,
      shard: s.shard,
      entryId: id,
      sub: e.sub,
      project,
      evt,
      thread,
      event: { body, type, thread, callbackUrl },
      resolved,
    }
    return { ev, targets }
  }

  /**
   * The queued deliveries' jobs, after everything they rely on is stored: the body every attempt
   * sends, and each job's place in its (target, thread) FIFO. The jobs themselves are added by
   * `handleBatch`, after the FIFO places of the whole batch exist.
   */
  async function prepareJobs(queued: QueuedDelivery[]): Promise<BulkJob[]> {
    const events = new Map(queued.map((q) => [q.ev.evt, q.ev]))
    await Promise.all([
      ...[...events.values()].map((ev) => endpoints.deliveries.saveEvent(ev.project, ev.evt, ev.event, deps.eventRetentionSeconds)),
      ...queued
        .filter((q) => q.ev.thread)
        .map((q) => redis.zadd(k.webhookFifo(q.ev.shard, q.target, q.ev.thread!), 'NX', 0, fifoMember(q.ev.entryId, q.ev.evt, q.ev.sub))),
    ])
    return queued.map(({ ev, target }) => ({
      name: 'deliver',
      data: {
        project: ev.project,
        evt: ev.evt,
        target,
        shard: ev.shard,
        entryId: ev.thread ? ev.entryId : null,
        sub: ev.sub,
        thread: ev.thread,
        trigger: 'event' as const,
        tries: 0,
        retryAt: null,
      },
      opts: jobOptions(deliveryJobId(ev.evt, target)),
    }))
  }

  async function handleControl(id: string, f: Record<string, string>): Promise<void> {
    const { kind, project, evt } = f
    if (!project || !evt) throw new MalformedEntry('missing field')
    if (kind === 'test') {
      const { endpoint, type, data } = f
      if (!endpoint || !type || data === undefined) throw new MalformedEntry('missing field')
      const body = JSON.stringify({ id: evt, object: 'event', type, created_at: Number(f.created_at), data: JSON.parse(data) })
      await endpoints.deliveries.saveEvent(project, evt, { body, type, thread: null, callbackUrl: null }, TEST_EVENT_RETENTION_SECONDS)
      await queueOf(0).add(
        'deliver',
        { project, evt, target: endpoint, shard: 0, entryId: null, thread: null, trigger: 'test', tries: 0, retryAt: null },
        { ...jobOptions(deliveryJobId(evt, endpoint)), attempts: 1 },
      )
    } else if (kind === 'redeliver') {
      const { target } = f
      if (!target) throw new MalformedEntry('missing field')
      const event = await endpoints.deliveries.getEvent(project, evt)
      if (!event) return
      // Outside the FIFO: the user asked for this event again, now.
      await queueOf(0).add(
        'deliver',
        { project, evt, target, shard: 0, entryId: null, thread: event.thread, trigger: 'retry', tries: 0, retryAt: null },
        jobOptions(deliveryJobId(evt, target, `r${id}`)),
      )
    } else {
      throw new MalformedEntry(`unknown kind ${kind}`)
    }
  }

  /** An entry's events and their targets ([] for a control entry, which acts at once, or a malformed one). */
  async function prepare(
    s: StreamState,
    id: string,
    f: Record<string, string> | null,
    decoded: DecodedEntry | MalformedEntry | undefined,
    snapshots: Map<string, WebhookEndpointSnapshot>,
  ): Promise<{ ev: OutboxEvent; targets: string[] }[]> {
    try {
      if (!f) throw new MalformedEntry('deleted entry')
      if (!s.control) {
        if (decoded instanceof MalformedEntry || decoded === undefined) throw decoded ?? new MalformedEntry('not decoded')
        return decoded.events.map((e) => parseEvent(s, id, decoded, e, snapshots.get(decoded.project)))
      }
      await handleControl(id, f)
    } catch (err) {
      if (!(err instanceof MalformedEntry || err instanceof SyntaxError)) throw err
      log.warn({ stream: s.key, entry: id, reason: err.message }, 'outbox entry skipped: malformed')
    }
    return []
  }

  /** `decodeEntry`, with a malformed entry's error kept for `prepare` to log. */
  function tryDecode(f: Record<string, string> | null): DecodedEntry | MalformedEntry | undefined {
    if (!f) return undefined
    try {
      return decodeEntry(f)
    } catch (err) {
      if (err instanceof MalformedEntry) return err
      throw err
    }
  }

  /**
   * A batch of entries in a few steps, each one round of concurrent commands rather than a round
   * trip per entry: prepare every entry; hand the (event, target) pairs that may go now to the
   * first attempts (which acknowledge their entries themselves when done); store the others'
   * bodies and FIFO places, add all their jobs, and acknowledge the entries with nothing left
   * here. No job runs before every FIFO place of its batch exists, so a later event of a thread
   * can never be sent while an earlier one of the same batch is not yet in line. A crash between
   * the steps leaves the entries pending; re-running them is idempotent (NX places, job ids), or
   * sends an attempt again (same webhook-id).
   */
  async function handleBatch(s: StreamState, entries: [string, string[] | null][], recovered = false, behind: BehindRead | null = null): Promise<void> {
    if (entries.length === 0) return
    const parsed = entries.map(([id, fields]) => {
      const f = fields && fieldsOf(fields)
      return [id, f, s.control ? undefined : tryDecode(f)] as const
    })
    const fresh = deps.firstAttempts && !closing && !recovered && !s.control ? deps.firstAttempts : null
    // Callbacks' FIFO checks go out beside the endpoint versions' GET (first-attempts.ts `precheck`).
    // (Or answered already: sent behind the read, `follow`.)
    const prechecked = fresh?.precheck(
      parsed.flatMap(([id, , d]) =>
        d && !(d instanceof MalformedEntry)
          ? d.events.map((e) => ({ shard: s.shard, entryId: id, evt: e.evt, thread: d.thread, callbackUrl: e.callbackUrl }))
          : [],
      ),
      behind,
    )
    // One look per project per batch at its endpoints (a GET of its version, mostly, unless read behind the read).
    const snapshots = s.control
      ? new Map()
      : await endpointCache.forBatch(
          parsed.flatMap(([, , d]) => (d && !(d instanceof MalformedEntry) ? [d.project] : [])),
          behind?.check.versions,
        )
    const prepared = (await Promise.all(parsed.map(([id, f, d]) => prepare(s, id, f, d, snapshots)))).flat().filter((p) => p.targets.length > 0)
    let queued: QueuedDelivery[] = prepared.flatMap(({ ev, targets }) => targets.map((target) => ({ ev, target })))
    let handledHere = new Set<string>()
    let jobsAdded = () => {}
    let jobsFailed = (_err: unknown) => {}
    // Recovered entries (claimed, re-read) are queued: they may be older than entries already in flight here.
    if (fresh && !closing) {
      const ready = new Promise<void>((resolve, reject) => {
        jobsAdded = resolve
        jobsFailed = reject
      })
      ;({ queued, handledHere } = await fresh.take(prepared, ready, prechecked))
    }
    try {
      const jobs = await prepareJobs(queued)
      if (jobs.length > 0 && deps.throttle) await deps.throttle(jobs)
      if (jobs.length > 0) await queueOf(s.shard).addBulk(jobs)
      jobsAdded()
    } catch (err) {
      jobsFailed(err)
      throw err
    }
    const ack = entries.map(([id]) => id).filter((id) => !handledHere.has(id))
    if (ack.length > 0) await redis.xack(s.key, GROUP, ...ack)
  }

  /** Entries this process is attempting are left alone when they come back (a re-read, a claim). */
  const notInFlight = (s: StreamState, entries: [string, string[] | null][]) =>
    deps.firstAttempts ? entries.filter(([id]) => !deps.firstAttempts!.has(s.key, id)) : entries

  async function readBatch(s: StreamState): Promise<number> {
    const reply = (await redis.xreadgroup('GROUP', GROUP, deps.consumer, 'COUNT', BATCH, 'STREAMS', s.key, '>')) as
      | [string, [string, string[] | null][]][]
      | null
    const entries = reply?.[0]?.[1] ?? []
    if (entries.length > 0) s.lastRead = entries.at(-1)![0]
    if (!closing) await handleBatch(s, entries)
    return entries.length
  }

  /**
   * Our own pending entries (ours from before a restart, or a failed handling), page by page,
   * moved to the recovery consumer name first (they are handled as claimed ones are).
   */
  async function rereadOwn(s: StreamState): Promise<void> {
    for (const name of [deps.consumer, recoveryConsumer]) {
      let from = '0'
      while (!closing) {
        const reply = (await redis.xreadgroup('GROUP', GROUP, name, 'COUNT', BATCH, 'STREAMS', s.key, from)) as [string, [string, string[] | null][]][] | null
        const entries = reply?.[0]?.[1] ?? []
        if (entries.length === 0) break
        const mine = notInFlight(s, entries)
        if (name !== recoveryConsumer && mine.length > 0) await redis.xclaim(s.key, GROUP, recoveryConsumer, 0, ...mine.map(([id]) => id), 'JUSTID')
        await handleBatch(s, mine, true)
        if (entries.length < BATCH) break
        from = entries.at(-1)![0]
      }
    }
  }

  /**
   * Claims entries another (probably dead) consumer read but never acknowledged: listed first
   * (XPENDING IDLE), then claimed (XCLAIM, still idle that long), leaving out our own first
   * attempts' entries, slower than their renewal (a stalled event loop). They are never moved:
   * XAUTOCLAIM took them too, to the recovery name, and gave them back a round trip later; an
   * attempt that settled in between found its entry another consumer's, so kept no FIFO place for
   * its job (queued, or its retry) and did not acknowledge, and once the entry's last target
   * acknowledged it, that job's gate found it handled and ended it: the event never reached that
   * target (the packed-entries test under load: a job completed with no attempt, its FIFO and the
   * group's pending list empty).
   */
  async function reclaim(s: StreamState): Promise<void> {
    let start = '-'
    while (!closing) {
      const page = (await redis.xpending(s.key, GROUP, 'IDLE', deps.reclaimIdleMs, start, '+', BATCH)) as [string, string, number, number][]
      const ids = page.map(([id]) => id).filter((id) => !deps.firstAttempts?.has(s.key, id))
      // Deleted entries (trimmed) are dropped from the pending list by XCLAIM and not returned.
      const claimed = ids.length === 0 ? [] : ((await redis.xclaim(s.key, GROUP, recoveryConsumer, deps.reclaimIdleMs, ...ids)) as [string, string[] | null][])
      if (claimed.length > 0) log.info({ stream: s.key, count: claimed.length }, 'reclaimed stale outbox entries')
      await handleBatch(s, claimed, true)
      if (page.length < BATCH) break
      start = `(${page.at(-1)![0]}`
    }
  }

  /** One pass over a stream; concurrent calls coalesce into one more pass. */
  function drain(s: StreamState): Promise<void> {
    if (closing) return Promise.resolve()
    if (s.running) {
      s.again = true
      return s.running
    }
    s.running = (async () => {
      try {
        do {
          s.again = false
          // Our own pending entries first (ours from before a restart, or a failed handling).
          if (s.rereadOwn) {
            s.rereadOwn = false
            await rereadOwn(s)
          }
          if (Date.now() - s.lastReclaim >= reclaimEveryMs) {
            s.lastReclaim = Date.now()
            await reclaim(s)
          }
          while (!closing && (await readBatch(s)) === BATCH);
          if (Date.now() - s.lastTrim >= trimEveryMs) {
            s.lastTrim = Date.now()
            await trimOutbox(redis, s.key, deps.consumer)
          }
        } while (s.again && !closing)
      } catch (err) {
        s.rereadOwn = true
        const message = (err as Error).message
        if (message.includes('NOGROUP')) await ensureGroup(s.key).catch(() => undefined)
        else log.error({ stream: s.key, err: message }, 'outbox read failed; retrying on the next poll')
      } finally {
        s.running = null
      }
    })()
    return s.running
  }

  /**
   * Follows shard stream `s`: a blocking XREADGROUP on its own connection, waiting up to `pollMs`,
   * whose entries are handled at once. It takes the stream's pass slot (`s.running`) like any pass,
   * so reads and batches of one stream never overlap (first-attempts.ts relies on it); a nudge or
   * poll arriving meanwhile asks for a pass after it (`s.again`), which does the housekeeping.
   */
  async function follow(s: StreamState, conn: Redis): Promise<void> {
    s.follower = conn
    // A read in flight when the connection drops is sent again on reconnect (ioredis
    // autoResendUnfulfilledCommands), with no error: if Redis had served it and only the reply was
    // lost, its entries sit pending under our name, unseen, and the thread's next entries would go
    // out first (our own pending entries do not hold back first attempts). So the next read
    // handles our own pending entries first, as after a failed handling.
    const lostReplies = () => {
      s.rereadOwn = true
    }
    // A Cluster (REDIS_CLUSTER_NODES) does the same on its own: a node's connection that closes
    // ends ('-node'), and the command is sent again after `retryDelayOnFailover`.
    const events = ['close', '-node'] as const
    for (const e of events) conn.on(e, lostReplies)
    try {
      await followLoop(s, conn)
    } finally {
      for (const e of events) conn.off(e, lostReplies)
    }
  }

  async function followLoop(s: StreamState, conn: Redis): Promise<void> {
    let failures = 0
    // Single Redis only: on a Cluster the checks' keys live in other slots (checkReadEntries-1.lua).
    const checksBehind = (conn as { isCluster?: boolean }).isCluster ? null : deps.firstAttempts
    while (!closing) {
      if (s.running) {
        await s.running
        continue
      }
      let failed = false
      s.running = (async () => {
        try {
          const read = conn.xreadgroup('GROUP', GROUP, deps.consumer, 'COUNT', BATCH, 'BLOCK', deps.pollMs, 'STREAMS', s.key, '>') as Promise<
            [string, [string, string[] | null][]][] | null
          >
          // The first attempts' checks, sent behind the read: Redis runs them once it is served.
          const checks = checksBehind && s.lastRead ? checksBehind.checkBehindRead(conn, { shard: s.shard, after: s.lastRead, count: BATCH }) : null
          const reply = await read
          const entries = reply?.[0]?.[1] ?? []
          if (entries.length > 0) s.lastRead = entries.at(-1)![0]
          const behind = checks && entries.length > 0 ? await checks : null
          if (closing) return
          // Our own pending entries come first, as in a pass: one left by a failed handling is older
          // than these, and must not be overtaken by their first attempts. Re-read, these go with it
          // (pending under our name too), in order, the queued way.
          if (s.rereadOwn && entries.length > 0) {
            s.rereadOwn = false
            await rereadOwn(s)
          } else await handleBatch(s, entries, false, behind)
          failures = 0
        } catch (err) {
          if (closing) return
          failed = true
          // Entries read and not handled stay pending under our name: read again by the next pass.
          s.rereadOwn = true
          const message = (err as Error).message
          if (message.includes('NOGROUP')) await ensureGroup(s.key).catch(() => undefined)
          else if (failures++ === 0) log.error({ stream: s.key, err: message }, 'outbox read failed; retrying')
        } finally {
          s.running = null
        }
      })()
      await s.running
      if (failed) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** failures, 1000)))
      else if (s.again || s.rereadOwn) await drain(s)
    }
  }

  const drainAll = () => Promise.all(streams.map(drain)).then(() => undefined)
  let timer: NodeJS.Timeout | undefined
  let renewTimer: NodeJS.Timeout | undefined
  const followers: Promise<void>[] = []

  return {
    async start(): Promise<void> {
      for (const s of streams) await ensureGroup(s.key)
      deps.subscriber.on('message', (channel, message) => {
        if (channel !== k.outboxChannel) return
        const s = message === 'control' ? streams.at(-1) : streams.find((x) => !x.control && String(x.shard) === message)
        // A followed stream's blocking read has the entry already: a pass would only read nothing.
        if (s?.follower) return
        void (s ? drain(s) : drainAll())
      })
      await deps.subscriber.subscribe(k.outboxChannel)
      await drainAll()
      if (deps.connect) for (const s of streams) if (!s.control) followers.push(follow(s, deps.connect(`threadwork-webhooks-outbox-${s.shard}`)))
      timer = setInterval(() => void drainAll(), deps.pollMs)
      const first = deps.firstAttempts
      if (first) renewTimer = setInterval(() => void first.renew(), Math.max(50, Math.floor(deps.reclaimIdleMs / 4)))
    },

    /** An entry of `streamKey` was left pending by a failed first attempt: read our own pending entries again. */
    stuck(streamKey: string): void {
      const s = streams.find((x) => x.key === streamKey)
      if (s) s.rereadOwn = true
    },

    /** Finishes the entry in hand, then stops reading. */
    async close(): Promise<void> {
      closing = true
      clearInterval(timer)
      await deps.subscriber.unsubscribe(k.outboxChannel).catch(() => undefined)
      // Ends the blocking reads at once (an entry they were handed stays pending: read again on restart, or claimed).
      for (const s of streams) s.follower?.disconnect()
      await Promise.all(followers)
      await Promise.all(streams.map((s) => s.running))
      await deps.firstAttempts?.close()
      clearInterval(renewTimer)
    },

    /** Reads every stream now (tests). */
    drainAll,
  }
}

/** An outbox entry's flat `[field, value, …]` as an object. */
function fieldsOf(fields: string[]): Record<string, string> {
  const f: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!
  return f
}
