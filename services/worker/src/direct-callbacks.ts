import type { Logger } from '@threadwork/logger'
import {
  CALLBACK_OWNER,
  DIRECT_CONSUMER_PREFIX,
  type DirectClaim,
  OUTBOX_GROUP,
  type RunStore,
  type Stores,
  type StoredWebhookEvent,
  createDeliverySlots,
  createWebhookDirectAttemptScripts,
  parseWebhookFifoMember,
} from '@threadwork/storage'
import {
  type AttemptResult,
  type RefusedAttempt,
  type Settled,
  type DeliveryJob,
  type HeldSlot,
  createAttempt,
  createFirstAttemptSlots,
  deliveryJob,
  deliveryJobId,
} from '@threadwork/webhook-delivery'
import type { Job, Queue } from 'bullmq'
import type { ChainableCommander } from 'ioredis'
import type { Dispatcher } from 'undici'
import { createDirectEligibility } from './direct-eligibility.js'

export interface DirectCallbacksDeps {
  stores: Stores
  /** The webhook shard queues `webhooks-{s<N>}` (a failed attempt's retry job; a parked job's wake). */
  queues: readonly Queue<DeliveryJob>[]
  /** The SSRF-guarded HTTP dispatcher (@threadwork/egress), with the webhooks service's allow-list. */
  http: Dispatcher
  /** That allow-list (WEBHOOK_ALLOW_PRIVATE): a callback to an address literal it refuses is not taken here. */
  allowPrivate: readonly string[]
  log: Logger
  /** This process's consumer in the outbox group: `DIRECT_CONSUMER_PREFIX` + a name unique among live processes. */
  consumer: string
  /** The webhooks service's settings (WebhookAttemptEnv): the same schedule, timeout, retention and limits. */
  schedule: readonly number[]
  timeoutMs: number
  eventRetentionSeconds: number
  projectConcurrency: number
  endpointConcurrency: number
  pauseAfterFailures: number
  /** WEBHOOK_RECLAIM_IDLE_MS: entries of attempts still running are renewed every quarter of it. */
  reclaimIdleMs: number
  /**
   * Attempts in flight (or waiting here for a slot) at once; beyond it, commits leave their
   * callbacks to the webhooks service. Default 1,000: at 100 turns in flight the 10 slots of a
   * project's callback target keep most attempts waiting here, and 100 refused a few commits a
   * run (the cost bench, issue 14), each a job at the webhooks service.
   */
  maxInFlight?: number
  /** A project's endpoint snapshot is read again after this long at most (a writer that died before its version bump). */
  snapshotMaxAgeMs?: number
  /** Called once per callback taken here, with how it ended (metrics). */
  onOutcome?: (outcome: DirectOutcome) => void
}

/**
 * How long a taken callback's attempt polls Redis for a slot when this process holds none of the
 * target's (ms); then the queued way (a job). Holders give one back at their next commit (the
 * want), idle ones within SLOT_LINGER_MS.
 */
const SLOT_POLL_MS = 2000
/** How long a callback taken behind another worker process's attempt of its thread waits for that one's settle (ms); then the queued way. */
const BEHIND_POLL_MS = 2000

/** How a callback taken here ended: `delivered`; `retry` (a job retries it); `failed` (given up); `queued` (no slot: a job sends it); `error` (Redis: left to the webhooks service). */
export type DirectOutcome = 'delivered' | 'retry' | 'failed' | 'queued' | 'error'

/**
 * A turn's first callback attempt made by the worker that committed the turn's end, straight after
 * its commit: no hop through the webhooks service (issue 14: the commit → callback latency and the
 * webhooks process's CPU). Only when the callback is the commit's events' only target — no endpoint
 * of the project subscribes to any of them (its endpoint snapshot, kept per webhook version as the
 * dispatcher keeps it, and checked against the version in the commit) — and on a single Redis.
 *
 * The commit takes its outbox entry (commitRun-6.lua `direct`): pending under this process's
 * consumer, with its member in the (callback, thread) FIFO, so no dispatcher reads it as new and a
 * later event of the thread queues behind it (services/webhooks README "Event flow"). Then, as the
 * dispatcher's first attempts do: an in-flight slot (the same limits, kept and handed on here
 * between attempts), the signed POST through the SSRF guard, the record, and the settle: delivered
 * or given up, the member goes with the XACK; a retry keeps it, with its job and the XACK in one
 * MULTI. The thread is not held: the next turn may run while the callback is in flight.
 *
 * A worker killed mid-attempt leaves the entry pending: a dispatcher claims it after
 * WEBHOOK_RECLAIM_IDLE_MS (renewed here while an attempt runs) and sends it again, same `webhook-id`.
 */
export function createDirectCallbacks(deps: DirectCallbacksDeps) {
  const { stores, log } = deps
  if (!deps.consumer.startsWith(DIRECT_CONSUMER_PREFIX)) throw new Error(`consumer must start with ${DIRECT_CONSUMER_PREFIX}`)
  const k = stores.keys
  const endpoints = stores.webhookEndpoints
  const scripts = createWebhookDirectAttemptScripts(stores.redis, k)
  const slotStore = createDeliverySlots(stores.redis, k)
  const maxInFlight = deps.maxInFlight ?? 1000
  const maxAgeMs = deps.snapshotMaxAgeMs ?? 10_000
  const attempt = createAttempt({
    endpoints,
    http: deps.http,
    log,
    schedule: deps.schedule,
    timeoutMs: deps.timeoutMs,
    pauseAfterFailures: deps.pauseAfterFailures,
  })
  const slots = createFirstAttemptSlots({
    slots: slotStore,
    consumer: deps.consumer,
    projectConcurrency: deps.projectConcurrency,
    endpointConcurrency: deps.endpointConcurrency,
    attemptMs: deps.timeoutMs,
    leaseMs: deps.timeoutMs + 10_000,
    maxWaiting: maxInFlight,
  })
  const eligibility = createDirectEligibility({ endpoints, allowPrivate: deps.allowPrivate, maxAgeMs })
  /**
   * Per (shard, thread): the end of this process's latest attempt of the thread, resolving to the
   * FIFO's head once its member went (delivered or given up), else null. A callback taken behind
   * it (`DirectClaim.behind`) goes only when that head is its own member.
   */
  const tails = new Map<string, Promise<string | null>>()
  /** FIFO members of the callbacks taken here and not yet settled: a hand-off to one of them wakes no job. */
  const ownMembers = new Set<string>()
  /** Taken entries whose attempt runs: shard → entry id → last renewed (ms). */
  const inFlightEntries = new Map<number, Map<string, number>>()
  const running = new Set<Promise<void>>()
  /** Per project: the last want of a callback slot seen in a commit (one slot given back per new one). */
  const seenWant = new Map<string, string>()
  let wants = 0
  let closing = false

  const inFlightCount = () => running.size

  function track(c: DirectClaim): void {
    let m = inFlightEntries.get(c.shard)
    if (!m) inFlightEntries.set(c.shard, (m = new Map()))
    m.set(c.entryId, Date.now())
  }
  const untrack = (c: DirectClaim) => inFlightEntries.get(c.shard)?.delete(c.entryId)

  const queueOf = (shard: number) => {
    const q = deps.queues[shard]
    if (!q) throw new Error(`no webhook queue for shard ${shard}`)
    return q
  }

  /** The retry job (or the job that only fails, or the queued way's) and the settle, in one MULTI in the shard's slot. */
  async function settleWithJob(c: DirectClaim, thread: string, job: Job<DeliveryJob>, keepInFifo: boolean): Promise<void> {
    // BullMQ's view of the queue's connection (the worker's command connection): its MULTI runs BullMQ's scripts and ours.
    const multi = (await queueOf(c.shard).getBackend().client).multi() as unknown as ChainableCommander
    await job.addJob(multi as never)
    scripts.settleOn(multi, c, thread, deps.consumer, keepInFifo)
    const replies = await multi.exec()
    const failed = replies?.find(([err]) => err)
    if (!replies || failed) throw failed?.[0] ?? new Error('MULTI aborted')
  }

  const jobData = (project: string, thread: string, c: DirectClaim, extra: Partial<DeliveryJob> = {}): DeliveryJob => ({
    project,
    evt: c.evt,
    target: CALLBACK_OWNER,
    shard: c.shard,
    entryId: c.entryId,
    sub: c.sub,
    thread,
    trigger: 'event',
    tries: 0,
    retryAt: null,
    ...extra,
  })

  /** Wakes a delayed job: a parked one popped when a slot was given back, or the FIFO's next head. */
  async function promote(shard: number, jobId: string | null): Promise<void> {
    if (!jobId) return
    const next = await deps.queues[shard]?.getJob(jobId)
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
  }

  /**
   * After the member left the FIFO: the next event of the pair, queued behind it, goes now
   * (services/webhooks fifo.ts `release`): a job woken, or, one of ours chained here, nothing to
   * wake (it reads the head from our tail). `head` as the settle read it; undefined: read here.
   */
  async function handOff(c: DirectClaim, thread: string, head?: string | null): Promise<string | null> {
    const next = head === undefined ? ((await stores.redis.zrange(k.webhookFifo(c.shard, CALLBACK_OWNER, thread), 0, 0))[0] ?? null) : head
    if (next && !ownMembers.has(next)) await promote(c.shard, deliveryJobId(parseWebhookFifoMember(next).evt, CALLBACK_OWNER))
    return next
  }

  /** The queued way (a job, the member kept in its FIFO place): our line was full, a chained attempt not at the head, or closing. */
  async function queueInstead(project: string, thread: string, c: DirectClaim, event: StoredWebhookEvent): Promise<void> {
    await endpoints.deliveries.saveEvent(project, c.evt, event, deps.eventRetentionSeconds)
    await settleWithJob(c, thread, deliveryJob(queueOf(c.shard), jobData(project, thread, c)), true)
  }

  /** Settles the attempt's result; `head` is the pair's FIFO head once our member went (null when it stays). */
  async function settle(
    project: string,
    thread: string,
    c: DirectClaim,
    event: StoredWebhookEvent,
    result: AttemptResult | RefusedAttempt,
    settledInRecord: Settled | undefined,
  ): Promise<{ outcome: DirectOutcome; head: string | null }> {
    if (result.kind === 'refused') {
      // Our SSRF guard refused it: the webhooks service's (its egress policy, WEBHOOK_ALLOW_PRIVATE)
      // decides, as its job; the refusal, if it refuses too, is recorded there as ever.
      await queueInstead(project, thread, c, event)
      return { outcome: 'queued', head: null }
    }
    if (result.kind === 'retry') {
      await settleWithJob(
        c,
        thread,
        deliveryJob(queueOf(c.shard), jobData(project, thread, c, { tries: result.tries, retryAt: result.retryAt }), result.retryAt - Date.now()),
        true,
      )
      return { outcome: 'retry', head: null }
    }
    if (result.kind === 'final' && (result.final === 'exhausted' || result.final === 'give_up')) {
      // Failed for good at once (an SSRF refusal): a job that only fails, so it shows under Failed, as the dispatcher's.
      const failedFirst = `delivery ${result.final}: ${result.error ?? `http_${result.status}`}`
      await settleWithJob(c, thread, deliveryJob(queueOf(c.shard), jobData(project, thread, c, { tries: result.tries, exhausted: true, failedFirst })), false)
      return { outcome: 'failed', head: await handOff(c, thread) }
    }
    // Delivered: settled in the record's step already (`settleIfDelivered`), unless it was not recorded.
    const settled = settledInRecord ?? (await scripts.settle(c, thread, deps.consumer))
    return { outcome: 'delivered', head: settled.settled ? await handOff(c, thread, settled.head) : null }
  }

  /** One taken callback: its slot (given, or waited for in this process's line), attempt, settle. Never throws. */
  async function run(project: string, thread: string, c: DirectClaim, secrets: string[], given: HeldSlot | null): Promise<void> {
    let outcome: DirectOutcome = 'error'
    // This thread's attempts here go one after another (set before any await: the thread's next commit may come next).
    const pair = `${c.shard}|${thread}`
    const prev = tails.get(pair)
    let endTail: (head: string | null) => void = () => undefined
    const tail = new Promise<string | null>((resolve) => {
      endTail = resolve
    })
    tails.set(pair, tail)
    let handedHead: string | null = null
    ownMembers.add(c.member)
    track(c)
    const event: StoredWebhookEvent = {
      body: JSON.stringify({ id: c.evt, object: 'event', type: c.type, created_at: c.createdAt, data: c.data }),
      type: c.type,
      thread,
      callbackUrl: c.callbackUrl,
    }
    let passed = false
    let slot: HeldSlot | null = given
    try {
      if (c.behind) {
        // Taken behind our own earlier attempt of the thread: a slot is not held while waiting for
        // it (the earlier one may be waiting for one). Then it goes only as the FIFO's head: the
        // earlier one was delivered or given up; else (its retry holds the place) the queued way.
        if (slot) {
          await keep(project, c.shard, slot)
          slot = null
        }
        const head = prev && ownMembers.has(c.behind) ? await prev : await foreignTurn(c, thread)
        if (head !== c.member) {
          passed = true
          await queueInstead(project, thread, c, event)
          outcome = 'queued'
          return
        }
      }
      slot ??= await slots.take(project, CALLBACK_OWNER, { pollMs: SLOT_POLL_MS })
      if (!slot) {
        // Our line was full, or we are closing: the queued way, as the dispatcher's (its job parks for a slot).
        passed = true
        await queueInstead(project, thread, c, event)
        outcome = 'queued'
        return
      }
      const to = { url: c.callbackUrl, secrets, pausedUntilS: null }
      const { result, settled: settledInRecord } = await attempt({
        project,
        evt: c.evt,
        target: CALLBACK_OWNER,
        trigger: 'event',
        tries: 0,
        event,
        to,
        saveEventTtlSeconds: deps.eventRetentionSeconds,
        handBackRefusal: true,
        settleIfDelivered: scripts.deliveredSettle(c, thread),
      })
      passed = true
      const held = slot
      await slots.done(project, CALLBACK_OWNER, held, async () => promote(c.shard, await slotStore.releaseAndUnpark(project, CALLBACK_OWNER, held.member)))
      const settled = await settle(project, thread, c, event, result, settledInRecord)
      outcome = settled.outcome
      handedHead = settled.head
    } catch (err) {
      // Redis trouble: the entry stays pending under our name, no longer renewed; a dispatcher claims it and sends it again (same webhook-id).
      log.error({ evt: c.evt, threadId: thread, err: (err as Error).message }, 'direct callback attempt failed; left to the webhooks service')
    } finally {
      // Failed on Redis before the slot was passed on: its lease runs out by itself.
      if (slot && !passed) slots.released(project, CALLBACK_OWNER)
      ownMembers.delete(c.member)
      endTail(handedHead)
      if (tails.get(pair) === tail) tails.delete(pair)
      untrack(c)
      deps.onOutcome?.(outcome)
    }
  }

  /**
   * Taken behind an attempt this process does not run (another worker process's, which committed
   * the thread's turn before): its settle is seen in the FIFO, polled with a growing wait (ZRANGE,
   * and while another member is the head, whether its entry is still pending under a committer).
   * Returns the head once it is ours, or one that stays without its committer (a retry job holds
   * the place, or a dispatcher claimed it), or after BEHIND_POLL_MS: then the queued way.
   */
  async function foreignTurn(c: DirectClaim, thread: string): Promise<string | null> {
    const fifo = k.webhookFifo(c.shard, CALLBACK_OWNER, thread)
    const until = Date.now() + BEHIND_POLL_MS
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const head = (await stores.redis.zrange(fifo, 0, 0))[0] ?? null
      if (head === null || head === c.member || Date.now() >= until) return head
      const id = parseWebhookFifoMember(head).entryId
      const held = (await stores.redis.xpending(k.outbox(c.shard), OUTBOX_GROUP, id, id, 1)) as [string, string][]
      if (!held[0]?.[1]?.startsWith(DIRECT_CONSUMER_PREFIX)) {
        // Settled between the two reads (its XACK and member's removal are one step): look again.
        // Still the head with its entry not pending: kept for a retry job, or a dispatcher's now.
        const again = (await stores.redis.zrange(fifo, 0, 0))[0] ?? null
        if (again === head) return head
        continue
      }
      await new Promise((r) => setTimeout(r, wait))
    }
  }

  /** A slot taken for a commit that did not take its entry: kept for the next one (or handed to a waiter), as after an attempt. */
  async function keep(project: string, shard: number, slot: HeldSlot): Promise<void> {
    await slots.done(project, CALLBACK_OWNER, slot, async () => promote(shard, await slotStore.releaseAndUnpark(project, CALLBACK_OWNER, slot.member)))
  }

  /** Keeps running attempts' entries from looking abandoned (see renewDirectClaims-1.lua). */
  async function renew(): Promise<void> {
    const staleAfter = Math.max(50, Math.floor(deps.reclaimIdleMs / 4))
    const now = Date.now()
    for (const [shard, entries] of inFlightEntries) {
      const due = [...entries].filter(([, at]) => now - at >= staleAfter).map(([id]) => id)
      if (due.length === 0) continue
      for (const id of due) entries.set(id, now)
      await scripts.renew(shard, deps.consumer, due).catch(() => undefined)
    }
  }
  const renewTimer = setInterval(() => void renew(), Math.max(50, Math.floor(deps.reclaimIdleMs / 4)))
  renewTimer.unref()

  return {
    /**
     * Wraps `runs.commit`: a commit whose events carry one callback_url and no endpoint's
     * subscription asks to take its entry (`CommitPlan.direct`); when taken, the attempt starts
     * at once, and the commit's caller goes on (the thread is not held).
     */
    install(runs: RunStore): void {
      const commit = runs.commit.bind(runs)
      runs.commit = async (threadId, runId, plan) => {
        const events = plan.events
        const callbacks = events?.filter((e) => e.callbackUrl) ?? []
        if (closing || plan.direct || callbacks.length !== 1 || !eligibility.mayReach(callbacks[0]!.callbackUrl!) || inFlightCount() >= maxInFlight)
          return commit(threadId, runId, plan)
        const take = await eligibility.take(plan.project, events!)
        if (!take) return commit(threadId, runId, plan)
        const { version } = take
        // The slot first (kept from an attempt before, mostly: no command), so a taken entry never
        // waits for one: none free now, and the webhooks service sends it, as before.
        // With none free but some held by our own attempts, the attempt waits in our line for one
        // handed on (after the commit: the thread is not held). Held by others only: not taken.
        const slot = await slots.take(plan.project, CALLBACK_OWNER, { wait: false }).catch(() => null)
        // Held by other processes only: taken all the same, and a slot wanted (keys.ts
        // `webhookWant`): a holder gives one back at its next commit, which this attempt's take
        // polls for (`pollMs`). Left to the webhooks service instead, it found the target as full
        // and queued a job, and the thread's next callbacks queued behind it: with 2 worker
        // processes 134 commands and 0.31 jobs a turn (cost bench, issue 14).
        if (!slot && slots.holding(plan.project, CALLBACK_OWNER) === 0) void slotStore.want(plan.project, `${deps.consumer}#${++wants}`).catch(() => undefined)
        const shard = k.shardOf(threadId)
        let outcome: Awaited<ReturnType<typeof commit>>
        try {
          outcome = await commit(threadId, runId, { ...plan, direct: { consumer: deps.consumer, version } })
        } catch (err) {
          if (slot) await keep(plan.project, shard, slot)
          throw err
        }
        if (slot && (!outcome.ok || !outcome.direct)) await keep(plan.project, shard, slot)
        // Another process (or a parked job) wants one of the project's callback slots: each new want, one of ours goes back.
        if (outcome.ok && outcome.want && outcome.want !== seenWant.get(plan.project) && !outcome.want.startsWith(`${deps.consumer}#`)) {
          seenWant.set(plan.project, outcome.want)
          slots.yieldOne(plan.project, CALLBACK_OWNER)
        }
        if (outcome.ok && outcome.direct) {
          const work = run(plan.project, threadId, outcome.direct, take.secrets, slot)
          running.add(work)
          void work.finally(() => running.delete(work))
        } else if (outcome.ok) {
          // Not taken: if because the endpoints changed, the next commit decides on a fresh snapshot.
          await eligibility.notTaken(plan.project, version)
        }
        return outcome
      }
    },

    /**
     * Creates the outbox group where no dispatcher has yet (from the stream's start, as a
     * dispatcher does): a commit can only take its entry in an existing group.
     */
    async start(): Promise<void> {
      for (let shard = 0; shard < k.shards; shard++) {
        try {
          await stores.redis.xgroup('CREATE', k.outbox(shard), OUTBOX_GROUP, '0', 'MKSTREAM')
        } catch (err) {
          if (!String((err as Error).message).includes('BUSYGROUP')) throw err
        }
      }
    },

    /** Attempts in flight here now. */
    inFlight: inFlightCount,

    /** Takes no more callbacks; resolves when those in flight have settled, and kept slots are given back. */
    async close(): Promise<void> {
      closing = true
      while (running.size > 0) await Promise.allSettled([...running])
      clearInterval(renewTimer)
      await slots.close()
    },
  }
}
export type DirectCallbacks = ReturnType<typeof createDirectCallbacks>
