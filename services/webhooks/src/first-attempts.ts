import type { Logger } from '@threadwork/logger'
import {
  CALLBACK_OWNER,
  type DeliverySlots,
  type Keys,
  type ReadEntriesCheck,
  type RedisClient,
  type StoredWebhookEvent,
  type WebhookEndpointStore,
  type WebhookFirstAttemptScripts,
} from '@threadwork/storage'
import { Job, type Queue } from 'bullmq'
import type { ChainableCommander } from 'ioredis'
import {
  type Attempt,
  type AttemptResult,
  type AttemptTarget,
  type DeliveryJob,
  type HeldSlot,
  GROUP,
  createFirstAttemptSlots,
  deliveryJobId,
  jobOptions,
  resolveTarget,
  tickBatch,
} from '@threadwork/webhook-delivery'
import { fifoMember } from './fifo.js'

const NONE: ReadonlySet<string> = new Set()
/** Beyond this many projects with callback slots held here, the checks behind a read take none (their names would go with it). */
const MAX_SKIPPED_PROJECTS = 100

/** One outbox event, parsed, with its body built (outbox-consumer.ts). */
export interface OutboxEvent {
  streamKey: string
  shard: number
  entryId: string
  /** Its place in its entry when the entry carries several events (a commit's), else null. */
  sub: number | null
  project: string
  evt: string
  thread: string | null
  event: StoredWebhookEvent
  /** Where each target goes and what signs it, as of the batch (endpoint-cache.ts); a target missing here is read at send time. */
  resolved?: Map<string, AttemptTarget>
}

/**
 * The checks sent behind a blocking read (`checkBehindRead`), with the pairs this process had in
 * flight when they were sent: their answers cannot stand for those (an attempt settled since may
 * have left a FIFO place the check did not see).
 */
export interface BehindRead {
  check: ReadEntriesCheck
  inFlight: ReadonlySet<string>
}

/** An (event, target) pair the caller queues as a BullMQ job, as before this file existed. */
export interface QueuedDelivery {
  ev: OutboxEvent
  target: string
}

export interface FirstAttemptsDeps {
  redis: RedisClient
  keys: Keys
  endpoints: WebhookEndpointStore
  queues: readonly Queue<DeliveryJob>[]
  slots: DeliverySlots
  scripts: WebhookFirstAttemptScripts
  attempt: Attempt
  log: Logger
  consumer: string
  /** Attempts this process makes straight from the outbox at once (WEBHOOK_CONCURRENCY); beyond it, events queue. */
  maxInFlight: number
  projectConcurrency: number
  endpointConcurrency: number
  timeoutMs: number
  eventRetentionSeconds: number
  /** Entries pending this long are claimed by other dispatchers: ours in flight are re-claimed well before. */
  reclaimIdleMs: number
  /** An entry's attempts failed on Redis: its stream's own pending entries should be read again. */
  onStuck: (streamKey: string) => void
}

/** An outbox entry with first attempts here: one per entry, shared by all its events. */
interface EntryState {
  streamKey: string
  shard: number
  entryId: string
  /** (event, target) pairs of the entry still being attempted or queued here; the last one to finish acknowledges the entry. */
  remaining: number
  /** Resolves once the batch's queued jobs exist (the entry must not be acknowledged before). */
  ready: Promise<void>
}

/**
 * First delivery attempts made straight from the outbox consumer: BullMQ only for retries
 * (issue 14). An (event, target) goes now when
 * - this process has room (`maxInFlight`),
 * - nothing older of its (target, thread) is queued or pending elsewhere (`checkFifoClear-n.lua`,
 *   one call for the events admitted together; this process orders its own entries itself: one
 *   chain per (target, thread)),
 * - it gets an in-flight slot under the project's and the target's limits (fairness.ts,
 *   first-attempt-slots.ts);
 * otherwise it is queued as a job, exactly as before (the job parks, waits its turn, its pause).
 *
 * The entry stays pending in the consumer group while its attempt runs, so a dispatcher killed
 * mid-attempt leaves it to XAUTOCLAIM, which sends it again with the same `webhook-id`. The
 * attempt's record (attempt.ts, project slot) comes first; then the entry's XACK (one call for the
 * entries done together, `ackFirstAttempts-1.lua`), or when it failed, in one MULTI in the shard
 * slot, the retry job, its FIFO place and the entry's XACK. A crash in between sends
 * the event again: at-least-once, as before. While attempts run long, this process re-claims
 * their entries (XCLAIM, idle reset) so that no live attempt is taken for a dead one's; should
 * one be taken all the same (a stalled process), the settle finds the entry another consumer's
 * and drops this attempt's outcome, and the taker sends the event again through the queue.
 *
 * Only entries read fresh (`>`, in id order) come here: claimed and re-read entries may be older
 * than entries this process already chains, so the consumer queues them, under a consumer name
 * of their own (outbox-consumer.ts), which `checkFifoClear-n.lua` counts as another's.
 */
export function createFirstAttempts(deps: FirstAttemptsDeps) {
  const { log, scripts } = deps
  /** (shard, target, thread) → the end of this process's latest attempt or hand-off for it. */
  const tails = new Map<string, Promise<void>>()
  /** stream → entry id → when last claimed (ms): entries this process is attempting. */
  const inFlightEntries = new Map<string, Map<string, number>>()
  const running = new Set<Promise<void>>()
  let inFlight = 0
  let closing = false

  const pairOf = (ev: OutboxEvent, target: string) => (ev.thread ? `${ev.shard}|${target}|${ev.thread}` : null)
  const slotLeaseMs = deps.timeoutMs + 10_000
  const slots = createFirstAttemptSlots({
    slots: deps.slots,
    consumer: deps.consumer,
    projectConcurrency: deps.projectConcurrency,
    endpointConcurrency: deps.endpointConcurrency,
    attemptMs: deps.timeoutMs,
    leaseMs: slotLeaseMs,
    maxWaiting: deps.maxInFlight,
  })
  /** Reads whose checks took slots: their members' numbering (`<consumer>#r<n>.<k>`, apart from `first-attempt-slots.ts`' own). */
  let readSeq = 0
  // The events of one shard checked, and the entries acknowledged, together: one call each per turn of the event loop.
  const fifoClear = tickBatch((shard: number, events: { target: string; thread: string; entryId: string }[]) =>
    scripts.fifoClear({ shard, group: GROUP, consumer: deps.consumer, events }),
  )
  const ack = tickBatch(async (shard: number, entryIds: string[]) => {
    await scripts.ack({ shard, group: GROUP, consumer: deps.consumer, entryIds })
    return entryIds.map(() => undefined)
  })

  /**
   * May it go now (nothing older of its (target, thread) anywhere), and with which slot? Null: it
   * queues. `checked`: the FIFO check made for it before, if it may stand (see `precheck`).
   */
  async function admit(ev: OutboxEvent, target: string, checked?: Promise<boolean>): Promise<HeldSlot | null> {
    if (ev.thread && !(await (checked ?? fifoClear(ev.shard, { target, thread: ev.thread, entryId: ev.entryId })))) return null
    return slots.take(ev.project, target)
  }

  function track(st: EntryState): void {
    let m = inFlightEntries.get(st.streamKey)
    if (!m) inFlightEntries.set(st.streamKey, (m = new Map()))
    m.set(st.entryId, Date.now())
  }
  const untrack = (st: EntryState) => inFlightEntries.get(st.streamKey)?.delete(st.entryId)

  /** The job of an (event, target) that could not go now, or of a failed first attempt. */
  function job(ev: OutboxEvent, target: string, extra: Partial<DeliveryJob> = {}, delay?: number) {
    const data: DeliveryJob = { project: ev.project, evt: ev.evt, target, shard: ev.shard, entryId: ev.thread ? ev.entryId : null, sub: ev.sub, thread: ev.thread, trigger: 'event', tries: 0, retryAt: null, ...extra }
    const opts = jobOptions(deliveryJobId(ev.evt, target))
    if (delay !== undefined && delay > 0) opts.delay = delay
    return new Job<DeliveryJob>(queueOf(ev.shard), 'deliver', data, opts, opts.jobId)
  }
  const queueOf = (shard: number) => {
    const q = deps.queues[shard]
    if (!q) throw new Error(`no webhook queue for shard ${shard}`)
    return q
  }

  /**
   * One target of an entry is done here: `multi` (the retry job's add, and the FIFO place to keep)
   * runs with the entry's XACK when this is its last target, else before the count goes down.
   */
  async function finish(st: EntryState, ev: OutboxEvent, target: string, withJob: Job<DeliveryJob> | null, keepInFifo: boolean): Promise<void> {
    const member = keepInFifo && ev.thread ? fifoMember(ev.entryId, ev.evt, ev.sub) : ''
    const run = async (ack: boolean) => {
      if (!withJob && !member) {
        if (ack) await ackEntry(st)
        return
      }
      // BullMQ's view of the queue's connection (deps.redis): its MULTI can run BullMQ's scripts and ours.
      const multi = (await queueOf(ev.shard).getBackend().client).multi() as unknown as ChainableCommander
      // Queued on the MULTI, not run: awaited before exec, as BullMQ's FlowProducer does.
      if (withJob) await withJob.addJob(multi as never)
      scripts.settle(multi, { shard: ev.shard, target, thread: ev.thread, entryId: ev.entryId, group: GROUP, consumer: deps.consumer, member, ack })
      const replies = await multi.exec()
      const failed = replies?.find(([err]) => err)
      if (!replies || failed) throw failed?.[0] ?? new Error('MULTI aborted')
    }
    if (st.remaining === 1) {
      await st.ready
      st.remaining = 0
      await run(true)
      untrack(st)
    } else {
      await run(false)
      if (--st.remaining === 0) {
        await st.ready
        await ackEntry(st)
        untrack(st)
      }
    }
  }

  /** The event goes the queued way after all (no room, not clear, no slot, paused): its job, then done here. */
  async function queueInstead(st: EntryState, ev: OutboxEvent, target: string): Promise<void> {
    await deps.endpoints.deliveries.saveEvent(ev.project, ev.evt, ev.event, deps.eventRetentionSeconds)
    await finish(st, ev, target, job(ev, target), true)
  }

  /** The entry's XACK, with the others of its shard done in the same turn; not if another consumer claimed it. */
  const ackEntry = (st: EntryState) => ack(st.shard, st.entryId)

  /** Sends the first attempt (slot held) and settles what follows from it. */
  async function send(st: EntryState, ev: OutboxEvent, target: string, slot: HeldSlot): Promise<void> {
    let passed = false
    try {
      const to = ev.resolved?.get(target) ?? (await resolveTarget(deps.endpoints, { project: ev.project, target, trigger: 'event', event: ev.event }))
      if (typeof to === 'string' || (to.pausedUntilS !== null && to.pausedUntilS * 1000 > Date.now())) {
        passed = true
        await giveBack(ev, target, slot).finally(() => slots.released(ev.project, target))
        // A paused endpoint's event waits out the pause as a job; a deleted or disabled one is dropped.
        if (typeof to !== 'string') return queueInstead(st, ev, target)
        if (to === 'endpoint_disabled') log.info({ evt: ev.evt, target }, 'webhook skipped: endpoint disabled')
        return finish(st, ev, target, null, false)
      }
      // The slot is not given back with the record: the next event to the target here takes it over.
      const { result } = await deps.attempt({ project: ev.project, evt: ev.evt, target, trigger: 'event', tries: 0, event: ev.event, to, saveEventTtlSeconds: deps.eventRetentionSeconds })
      passed = true
      await slots.done(ev.project, target, slot, () => giveBack(ev, target, slot))
      await settleResult(st, ev, target, result)
    } finally {
      // Failed on Redis before the slot was passed on: its lease runs out by itself.
      if (!passed) slots.released(ev.project, target)
    }
  }

  /** Gives `slot` back in Redis and wakes the parked job its release pops (deliver.ts parks jobs that found none). */
  const giveBack = (ev: OutboxEvent, target: string, slot: HeldSlot) => giveBackTo(ev.shard, ev.project, target, slot.member)
  async function giveBackTo(shard: number, project: string, target: string, member: string): Promise<void> {
    await wake(shard, await deps.slots.releaseAndUnpark(project, target, member))
  }

  async function settleResult(st: EntryState, ev: OutboxEvent, target: string, result: AttemptResult): Promise<void> {
    if (result.kind === 'retry') {
      // The retry is a job like any other, and holds the thread's later events back (its FIFO place).
      return finish(st, ev, target, job(ev, target, { tries: result.tries, retryAt: result.retryAt }, result.retryAt - Date.now()), true)
    }
    if (result.kind === 'final' && (result.final === 'exhausted' || result.final === 'give_up')) {
      // Failed for good at once: a job that only fails, so it shows under Failed like any other.
      const failedFirst = `delivery ${result.final}: ${result.error ?? `http_${result.status}`}`
      return finish(st, ev, target, job(ev, target, { tries: result.tries, exhausted: true, failedFirst }), false)
    }
    return finish(st, ev, target, null, false)
  }

  /** Wakes a parked job popped when a slot was given back. */
  async function wake(shard: number, id: string | null): Promise<void> {
    if (!id) return
    const next = await deps.queues[shard]?.getJob(id)
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
  }

  /** Runs one (event, target) here: waits for this process's earlier one of the pair, then goes or queues. */
  function start(st: EntryState, ev: OutboxEvent, target: string, admitted: Promise<HeldSlot | null> | null, after: Promise<void> | undefined): Promise<void> {
    inFlight++
    const work = (async () => {
      try {
        let slot: HeldSlot | null = null
        if (admitted) slot = await admitted
        else {
          await after
          if (closing) {
            // Left pending: read again after a restart, or claimed by another dispatcher.
            deps.onStuck(st.streamKey)
            return
          }
          slot = await admit(ev, target)
        }
        if (slot) await send(st, ev, target, slot)
        else await queueInstead(st, ev, target)
      } catch (err) {
        // Redis trouble: the entry stays pending; it is read again and sent again (same webhook-id).
        log.error({ evt: ev.evt, target, err: (err as Error).message }, 'first delivery attempt failed; the entry will be handled again')
        untrack(st)
        deps.onStuck(st.streamKey)
      } finally {
        inFlight--
      }
    })()
    running.add(work)
    void work.finally(() => running.delete(work))
    return work
  }

  return {
    /**
     * Takes a batch's (event, targets) in entry order. Returns the pairs the caller queues as
     * jobs now (with their FIFO places, in the batch's one `addBulk`), and how many targets of
     * each entry are handled here: an entry with any must not be acknowledged by the caller.
     * `ready` resolves once the caller's jobs of this batch exist (or rejects if adding failed).
     */
    async take(
      events: { ev: OutboxEvent; targets: string[] }[],
      ready: Promise<void>,
      prechecked?: ReadonlyMap<string, Promise<boolean>>,
    ): Promise<{ queued: QueuedDelivery[]; handledHere: Set<string> }> {
      const queued: QueuedDelivery[] = []
      const handledHere = new Set<string>()
      const batchQueued = new Set<string>()
      const candidates: { st: EntryState; ev: OutboxEvent; target: string; pair: string | null }[] = []
      // The events of one entry (a commit's several) share its state: it is acknowledged when all are done.
      const states = new Map<string, EntryState>()
      for (const { ev, targets } of events) {
        for (const target of targets) {
          const pair = pairOf(ev, target)
          // An earlier event of the pair in this batch is queued: this one follows it into the FIFO.
          if (closing || inFlight + candidates.length >= deps.maxInFlight || (pair && batchQueued.has(pair))) {
            if (pair) batchQueued.add(pair)
            queued.push({ ev, target })
            continue
          }
          let st = states.get(ev.entryId)
          if (!st) states.set(ev.entryId, (st = { streamKey: ev.streamKey, shard: ev.shard, entryId: ev.entryId, remaining: 0, ready }))
          st.remaining++
          candidates.push({ st, ev, target, pair })
        }
      }
      for (const st of states.values()) {
        handledHere.add(st.entryId)
        track(st)
      }
      // Those with no earlier event of their pair in flight here are checked at once, together.
      for (const c of candidates) {
        const after = c.pair ? tails.get(c.pair) : undefined
        // A check made before the batch stands only for the pair's first event here: a later one
        // waits for it, and must see the FIFO place it may have left (its retry).
        const checked = c.target === CALLBACK_OWNER ? prechecked?.get(c.ev.evt) : undefined
        const admitted = after ? null : admit(c.ev, c.target, checked)
        // The pair's next event waits for this one: sent and settled, or its job added.
        const done = start(c.st, c.ev, c.target, admitted, after)
        if (c.pair) {
          const tail = done
          tails.set(c.pair, tail)
          void tail.then(() => tails.get(c.pair!) === tail && tails.delete(c.pair!))
        }
      }
      ready.catch(() => undefined)
      return { queued, handledHere }
    },

    /**
     * The FIFO checks of fresh entries' callbacks, started before their batch is parsed: a
     * callback's target is known from the entry alone, so its check goes out beside the endpoint
     * versions' GET instead of after it (one round trip less before the POST). Keyed by event id;
     * `take` uses one only for an event it admits at once. Why it may stand: other consumers'
     * pending entries older than this one can only go away after the check, and a FIFO member
     * older than it comes from such an entry, or from this process's own earlier event of the pair
     * (none in flight: checked here; no other batch of the shard runs before `take`), or from a
     * recovered entry (handled before this batch was read).
     */
    precheck(
      entries: readonly { shard: number; entryId: string; evt: string; thread: string | null; callbackUrl: string | null }[],
      behind?: BehindRead | null,
    ): Map<string, Promise<boolean>> {
      const out = new Map<string, Promise<boolean>>()
      if (closing) return out
      const byShard = new Map<number, { evt: string; check: { target: string; thread: string; entryId: string } }[]>()
      for (const e of entries) {
        const pair = `${e.shard}|${CALLBACK_OWNER}|${e.thread}`
        // An earlier event of the pair in flight here may yet leave a FIFO place (its retry): checked after it instead.
        if (!e.thread || !e.callbackUrl || tails.has(pair)) continue
        // Answered behind the read already, unless the pair was in flight then (it has settled since).
        const answered = behind && !behind.inFlight.has(pair) ? behind.check.fifoClear.get(e.entryId) : undefined
        if (answered !== undefined) {
          out.set(e.evt, Promise.resolve(answered))
          continue
        }
        let list = byShard.get(e.shard)
        if (!list) byShard.set(e.shard, (list = []))
        list.push({ evt: e.evt, check: { target: CALLBACK_OWNER, thread: e.thread, entryId: e.entryId } })
      }
      // Sent now, one call per shard, not at the end of the event-loop turn (`fifoClear`'s batching):
      // the batch's checks are all here already, and waiting let the GET go ~0.5 ms ahead (issue 14, latency).
      for (const [shard, list] of byShard) {
        const replies = scripts.fifoClear({ shard, group: GROUP, consumer: deps.consumer, events: list.map((l) => l.check) })
        list.forEach(({ evt }, i) => {
          const check = replies.then((r) => r[i] === true)
          // Unused (the event was queued, or had no room): its failure must not go unhandled.
          check.catch(() => undefined)
          out.set(evt, check)
        })
      }
      return out
    },

    /**
     * Sends `precheck`'s checks for the entries a blocking XREADGROUP on `conn` (shard `shard`'s
     * outbox, this consumer) is about to be handed, behind that read and before its reply
     * (`checkRead`, single Redis only): they come back with the entries instead of a round trip
     * after them (issue 14, callback latency). `after`: the last entry id this consumer read from
     * the stream before; `count`: the read's COUNT. Resolves to null when the checks failed (the
     * batch then checks as before). Why answers given at the read may stand: as for `precheck`,
     * other consumers' older entries can only go away after it, and this process's own earlier
     * events are the pairs in flight now (`inFlight`), whose answers are not used; no batch of the
     * stream runs between the read and its handling.
     */
    checkBehindRead(conn: RedisClient, o: { shard: number; after: string; count: number }): Promise<BehindRead | null> {
      const pairsInFlight: ReadonlySet<string> = tails.size === 0 ? NONE : new Set(tails.keys())
      // A callback's slot too, for a project whose callback slots this process holds none of when
      // the read is served (it hands its own on; those it holds now may be given back while the
      // read waits, so the script looks): a turn alone after the last one's slot was given back
      // (250 ms) then needs no acquire after the read either. Not when the attempt could not
      // start here now.
      const holding = slots.projectsHolding(CALLBACK_OWNER)
      const takeSlots = !closing && inFlight < deps.maxInFlight && holding.length <= MAX_SKIPPED_PROJECTS
      const check = scripts.checkRead(conn, {
        shard: o.shard,
        group: GROUP,
        consumer: deps.consumer,
        after: o.after,
        count: o.count,
        slots: takeSlots
          ? {
              memberPrefix: `${deps.consumer}#r${++readSeq}.`,
              leaseMs: slotLeaseMs,
              projectLimit: deps.projectConcurrency,
              targetLimit: deps.endpointConcurrency,
              mayHold: holding,
            }
          : undefined,
      })
      return check.then(
        (check) => {
          // Held from now on, whether or not the batch uses them: unused, they are given back after the linger.
          for (const { project, member, leaseUntil } of check.slots) {
            void slots.adopt(project, CALLBACK_OWNER, { member, leaseUntil }, () => giveBackTo(o.shard, project, CALLBACK_OWNER, member))
          }
          return { check, inFlight: pairsInFlight }
        },
        (err: unknown) => {
          // Its read fails with it (a dropped connection, closing): logged there.
          if (!closing) log.debug({ shard: o.shard, err: (err as Error).message }, 'checks behind the outbox read failed; checking after it')
          return null
        },
      )
    },

    /** Whether this process is attempting the entry now (a re-read or a reclaim must leave it alone). */
    has: (streamKey: string, entryId: string) => inFlightEntries.get(streamKey)?.has(entryId) ?? false,

    /**
     * Keeps long attempts' entries from looking abandoned: those still ours and idle a quarter of
     * the reclaim time are XCLAIMed to ourselves again (idle reset). One another consumer took
     * meanwhile stays its own (ackFirstAttempts-1.lua, settleFirstAttempt-2.lua then drop our outcome).
     */
    async renew(): Promise<void> {
      const now = Date.now()
      const staleAfter = Math.max(50, Math.floor(deps.reclaimIdleMs / 4))
      for (const [stream, entries] of inFlightEntries) {
        if (![...entries.values()].some((at) => now - at >= staleAfter)) continue
        for (const id of entries.keys()) entries.set(id, now)
        const ours = (await deps.redis.xpending(stream, GROUP, 'IDLE', staleAfter, '-', '+', 1000, deps.consumer).catch(() => [])) as [string, ...unknown[]][]
        const ids = ours.map(([id]) => id).filter((id) => entries.has(id))
        if (ids.length > 0) await deps.redis.xclaim(stream, GROUP, deps.consumer, 0, ...ids, 'JUSTID').catch(() => undefined)
      }
    },

    /** Starts no more attempts; resolves when those in flight have settled. */
    async close(): Promise<void> {
      closing = true
      const kept = slots.close()
      while (running.size > 0) await Promise.allSettled([...running])
      await kept
      await slots.close()
    },
  }
}
export type FirstAttempts = ReturnType<typeof createFirstAttempts>
