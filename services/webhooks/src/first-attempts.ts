import type { Logger } from '@threadwork/logger'
import type { DeliverySlots, Keys, RedisClient, StoredWebhookEvent, WebhookEndpointStore, WebhookFirstAttemptScripts } from '@threadwork/storage'
import { Job, type Queue } from 'bullmq'
import type { ChainableCommander } from 'ioredis'
import { type Attempt, type AttemptResult, type AttemptTarget, resolveTarget } from './attempt.js'
import { fifoMember } from './fifo.js'
import { type DeliveryJob, GROUP, deliveryJobId, jobOptions } from './jobs.js'

/** One outbox event, parsed, with its body built (outbox-consumer.ts). */
export interface OutboxEvent {
  streamKey: string
  shard: number
  entryId: string
  project: string
  evt: string
  thread: string | null
  event: StoredWebhookEvent
  /** Where each target goes and what signs it, as of the batch (endpoint-cache.ts); a target missing here is read at send time. */
  resolved?: Map<string, AttemptTarget>
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

interface EntryState {
  ev: OutboxEvent
  /** Targets still being attempted or queued here; the last one to finish acknowledges the entry. */
  remaining: number
  /** Resolves once the batch's queued jobs exist (the entry must not be acknowledged before). */
  ready: Promise<void>
}

/**
 * First delivery attempts made straight from the outbox consumer: BullMQ only for retries
 * (issue 14). An (event, target) goes now when
 * - this process has room (`maxInFlight`),
 * - nothing older of its (target, thread) is queued or pending elsewhere (`checkFifoClear-2.lua`;
 *   this process orders its own entries itself: one chain per (target, thread)),
 * - it gets an in-flight slot under the project's and the target's limits (fairness.ts);
 * otherwise it is queued as a job, exactly as before (the job parks, waits its turn, its pause).
 *
 * The entry stays pending in the consumer group while its attempt runs, so a dispatcher killed
 * mid-attempt leaves it to XAUTOCLAIM, which sends it again with the same `webhook-id`. The
 * attempt's record (attempt.ts, project slot) comes first; then, in one MULTI in the shard slot,
 * the retry job (when it failed), its FIFO place and the entry's XACK. A crash in between sends
 * the event again: at-least-once, as before. While attempts run long, this process re-claims
 * their entries (XCLAIM, idle reset) so that no live attempt is taken for a dead one's; should
 * one be taken all the same (a stalled process), the settle finds the entry another consumer's
 * and drops this attempt's outcome, and the taker sends the event again through the queue.
 *
 * Only entries read fresh (`>`, in id order) come here: claimed and re-read entries may be older
 * than entries this process already chains, so the consumer queues them, under a consumer name
 * of their own (outbox-consumer.ts), which `checkFifoClear-2.lua` counts as another's.
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
  const slotOf = (ev: OutboxEvent, target: string) => deliveryJobId(ev.evt, target)
  const acquire = (ev: OutboxEvent, target: string) =>
    deps.slots.acquire({
      project: ev.project,
      target,
      member: slotOf(ev, target),
      projectLimit: deps.projectConcurrency,
      targetLimit: deps.endpointConcurrency,
      leaseMs: deps.timeoutMs + 10_000,
    })

  /** Slots this process's first attempts hold, per (project, target); and first attempts waiting here for one of them. */
  const held = new Map<string, number>()
  /** Each waiter learns whether the slot was handed to it (`true`) or it should try to take one. */
  const waiting = new Map<string, { member: string; wake: (handed: boolean) => void }[]>()
  const slotKey = (ev: OutboxEvent, target: string) => `${ev.project}|${target}`

  /**
   * May it go now (nothing older of its (target, thread) anywhere) and does it get a slot? A
   * target full of this process's own attempts (a project's callbacks share one target and its
   * limit) frees a slot here within an attempt's time: the event waits for it here (at most
   * `maxInFlight` waiters per target), rather than as a parked job. Otherwise no slot means the queue.
   */
  async function admit(ev: OutboxEvent, target: string): Promise<boolean> {
    if (ev.thread) {
      const clear = await scripts.fifoClear({ shard: ev.shard, target, thread: ev.thread, entryId: ev.entryId, group: GROUP, consumer: deps.consumer })
      if (!clear) return false
    }
    const key = slotKey(ev, target)
    for (;;) {
      // This process alone holds every slot of the target: no need to ask Redis, wait in line.
      const slot = (held.get(key) ?? 0) >= deps.endpointConcurrency ? 'target_busy' : await acquire(ev, target)
      if (slot === 'taken') {
        held.set(key, (held.get(key) ?? 0) + 1)
        return true
      }
      const queue = waiting.get(key) ?? []
      if (slot !== 'target_busy' || closing || !held.get(key) || queue.length >= deps.maxInFlight) return false
      waiting.set(key, queue)
      const handed = await new Promise<boolean>((wake) => queue.push({ member: slotOf(ev, target), wake }))
      if (handed) return true
    }
  }

  /** The next first attempt waiting here for (project, target), taken off the list. */
  function nextWaiter(key: string) {
    const queue = waiting.get(key)
    const next = queue?.shift()
    if (queue?.length === 0) waiting.delete(key)
    return next
  }

  /** A slot taken in `admit` was given back: the next first attempt waiting here for the target tries again. */
  function releasedHere(ev: OutboxEvent, target: string): void {
    const key = slotKey(ev, target)
    const n = (held.get(key) ?? 1) - 1
    if (n > 0) held.set(key, n)
    else held.delete(key)
    nextWaiter(key)?.wake(false)
  }

  function track(ev: OutboxEvent): void {
    let m = inFlightEntries.get(ev.streamKey)
    if (!m) inFlightEntries.set(ev.streamKey, (m = new Map()))
    m.set(ev.entryId, Date.now())
  }
  const untrack = (ev: OutboxEvent) => inFlightEntries.get(ev.streamKey)?.delete(ev.entryId)

  /** The job of an (event, target) that could not go now, or of a failed first attempt. */
  function job(ev: OutboxEvent, target: string, extra: Partial<DeliveryJob> = {}, delay?: number) {
    const data: DeliveryJob = { project: ev.project, evt: ev.evt, target, shard: ev.shard, entryId: ev.thread ? ev.entryId : null, thread: ev.thread, trigger: 'event', tries: 0, retryAt: null, ...extra }
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
  async function finish(st: EntryState, target: string, withJob: Job<DeliveryJob> | null, keepInFifo: boolean): Promise<void> {
    const { ev } = st
    const member = keepInFifo && ev.thread ? fifoMember(ev.entryId, ev.evt) : ''
    const run = async (ack: boolean) => {
      if (!withJob && !member) {
        if (ack) await scripts.settleNow({ shard: ev.shard, entryId: ev.entryId, group: GROUP, consumer: deps.consumer })
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
      untrack(ev)
    } else {
      await run(false)
      if (--st.remaining === 0) {
        await st.ready
        await scripts.settleNow({ shard: ev.shard, entryId: ev.entryId, group: GROUP, consumer: deps.consumer })
        untrack(ev)
      }
    }
  }

  /** The event goes the queued way after all (no room, not clear, no slot, paused): its job, then done here. */
  async function queueInstead(st: EntryState, target: string): Promise<void> {
    const { ev } = st
    await deps.endpoints.deliveries.saveEvent(ev.project, ev.evt, ev.event, deps.eventRetentionSeconds)
    await finish(st, target, job(ev, target), true)
  }

  /** Sends the first attempt (slot held) and settles what follows from it. */
  async function send(st: EntryState, target: string): Promise<void> {
    let released = false
    const release = (handedOn = false) => {
      if (!released && !handedOn) releasedHere(st.ev, target)
      released = true
    }
    try {
      await sendHoldingSlot(st, target, release)
    } finally {
      release()
    }
  }

  async function sendHoldingSlot(st: EntryState, target: string, releasedSlot: (handedOn?: boolean) => void): Promise<void> {
    const { ev } = st
    const to = ev.resolved?.get(target) ?? (await resolveTarget(deps.endpoints, { project: ev.project, target, trigger: 'event', event: ev.event }))
    if (typeof to === 'string' || (to.pausedUntilS !== null && to.pausedUntilS * 1000 > Date.now())) {
      await deps.slots.release(ev.project, target, slotOf(ev, target))
      releasedSlot()
      await wake(ev, await deps.slots.unparkOne(ev.project))
      // A paused endpoint's event waits out the pause as a job; a deleted or disabled one is dropped.
      if (typeof to !== 'string') return queueInstead(st, target)
      if (to === 'endpoint_disabled') log.info({ evt: ev.evt, target }, 'webhook skipped: endpoint disabled')
      return finish(st, target, null, false)
    }
    let kept = false
    const { result, woken } = await deps.attempt({
      project: ev.project,
      evt: ev.evt,
      target,
      trigger: 'event',
      tries: 0,
      event: ev.event,
      to,
      saveEventTtlSeconds: deps.eventRetentionSeconds,
      // Kept (not released with the record) when another attempt here waits for the target's slot.
      slotMember: () => {
        kept = (waiting.get(slotKey(ev, target))?.length ?? 0) > 0
        return kept ? undefined : slotOf(ev, target)
      },
    })
    if (!kept) {
      releasedSlot()
      await wake(ev, woken)
    } else if (await handOn(ev, target)) {
      releasedSlot(true)
    } else {
      // Kept but not handed on (the lease was gone): given back the ordinary way.
      await deps.slots.release(ev.project, target, slotOf(ev, target))
      releasedSlot()
      await wake(ev, await deps.slots.unparkOne(ev.project))
    }
    await settleResult(st, target, result)
  }

  async function settleResult(st: EntryState, target: string, result: AttemptResult): Promise<void> {
    const { ev } = st
    if (result.kind === 'retry') {
      // The retry is a job like any other, and holds the thread's later events back (its FIFO place).
      return finish(st, target, job(ev, target, { tries: result.tries, retryAt: result.retryAt }, result.retryAt - Date.now()), true)
    }
    if (result.kind === 'final' && (result.final === 'exhausted' || result.final === 'give_up')) {
      // Failed for good at once: a job that only fails, so it shows under Failed like any other.
      const failedFirst = `delivery ${result.final}: ${result.error ?? `http_${result.status}`}`
      return finish(st, target, job(ev, target, { tries: result.tries, exhausted: true, failedFirst }), false)
    }
    return finish(st, target, null, false)
  }

  /**
   * Hands this attempt's slot to the next attempt waiting here for the same target: true when done
   * (the slot stays held here, by the waiter now). False when nobody waits, or when our lease was
   * gone; the caller then releases it.
   */
  async function handOn(ev: OutboxEvent, target: string): Promise<boolean> {
    const key = slotKey(ev, target)
    if (!waiting.get(key)?.length) return false
    const from = slotOf(ev, target)
    const next = nextWaiter(key)!
    const handed = await deps.slots.handOver({ project: ev.project, target, from, to: next.member, leaseMs: deps.timeoutMs + 10_000 }).catch(() => false)
    // Handed: our hold passes to the waiter (the count held here stays). Not: it tries to take one.
    next.wake(handed)
    return handed
  }

  /** Wakes a parked job popped when a slot was given back (deliver.ts parks jobs that found none). */
  async function wake(ev: OutboxEvent, id: string | null): Promise<void> {
    if (!id) return
    const next = await deps.queues[ev.shard]?.getJob(id)
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
  }

  /** Runs one (event, target) here: waits for this process's earlier one of the pair, then goes or queues. */
  function start(st: EntryState, target: string, admitted: Promise<boolean> | null, after: Promise<void> | undefined): Promise<void> {
    inFlight++
    const work = (async () => {
      try {
        let go = false
        if (admitted) go = await admitted
        else {
          await after
          if (closing) {
            // Left pending: read again after a restart, or claimed by another dispatcher.
            deps.onStuck(st.ev.streamKey)
            return
          }
          go = await admit(st.ev, target)
        }
        if (go) await send(st, target)
        else await queueInstead(st, target)
      } catch (err) {
        // Redis trouble: the entry stays pending; it is read again and sent again (same webhook-id).
        log.error({ evt: st.ev.evt, target, err: (err as Error).message }, 'first delivery attempt failed; the entry will be handled again')
        untrack(st.ev)
        deps.onStuck(st.ev.streamKey)
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
    async take(events: { ev: OutboxEvent; targets: string[] }[], ready: Promise<void>): Promise<{ queued: QueuedDelivery[]; handledHere: Set<string> }> {
      const queued: QueuedDelivery[] = []
      const handledHere = new Set<string>()
      const batchQueued = new Set<string>()
      const candidates: { st: EntryState; target: string; pair: string | null }[] = []
      for (const { ev, targets } of events) {
        let st: EntryState | null = null
        for (const target of targets) {
          const pair = pairOf(ev, target)
          // An earlier event of the pair in this batch is queued: this one follows it into the FIFO.
          if (closing || inFlight + candidates.length >= deps.maxInFlight || (pair && batchQueued.has(pair))) {
            if (pair) batchQueued.add(pair)
            queued.push({ ev, target })
            continue
          }
          st ??= { ev, remaining: 0, ready }
          st.remaining++
          candidates.push({ st, target, pair })
        }
        if (st) {
          handledHere.add(ev.entryId)
          track(ev)
        }
      }
      // Those with no earlier event of their pair in flight here are checked at once, together.
      for (const c of candidates) {
        const after = c.pair ? tails.get(c.pair) : undefined
        const admitted = after ? null : admit(c.st.ev, c.target)
        // The pair's next event waits for this one: sent and settled, or its job added.
        const done = start(c.st, c.target, admitted, after)
        if (c.pair) {
          const tail = done
          tails.set(c.pair, tail)
          void tail.then(() => tails.get(c.pair!) === tail && tails.delete(c.pair!))
        }
      }
      ready.catch(() => undefined)
      return { queued, handledHere }
    },

    /** Whether this process is attempting the entry now (a re-read or a reclaim must leave it alone). */
    has: (streamKey: string, entryId: string) => inFlightEntries.get(streamKey)?.has(entryId) ?? false,

    /**
     * Keeps long attempts' entries from looking abandoned: those still ours and idle a quarter of
     * the reclaim time are XCLAIMed to ourselves again (idle reset). One another consumer took
     * meanwhile stays its own (settleFirstAttempt-2.lua then drops our outcome).
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
      while (running.size > 0) await Promise.allSettled([...running])
    },
  }
}
export type FirstAttempts = ReturnType<typeof createFirstAttempts>
