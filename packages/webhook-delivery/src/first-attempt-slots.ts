import type { DeliverySlots } from '@threadwork/storage'

/**
 * An in-flight slot (fairness.ts) held by this process's first attempts. Its member names this
 * process and the slot, not an attempt: handed from an attempt that ends to the next one waiting
 * here for the same target, it stays the same in Redis, so a hand-over costs no command (issue 14).
 */
export interface HeldSlot {
  member: string
  /** When its lease ends in Redis (unix ms, a lower bound); renewed before an attempt could outlive it. */
  leaseUntil: number
}

export interface FirstAttemptSlotsDeps {
  slots: DeliverySlots
  /** This process's consumer name: slot members start with it. */
  consumer: string
  projectConcurrency: number
  endpointConcurrency: number
  /** One attempt's longest time (WEBHOOK_TIMEOUT_MS): a slot handed on keeps at least this much lease plus a margin. */
  attemptMs: number
  /** Lease per acquire or renewal (ms). */
  leaseMs: number
  /** How long a slot nobody waits for is kept (default SLOT_LINGER_MS). */
  lingerMs?: number
  /** First attempts that may wait here for one target's slot; beyond it, events queue. */
  maxWaiting: number
  /** After a refusal while holding some of the target's slots, how long this process waits in its own line before asking Redis again (default REFUSED_BACKOFF_MS). */
  refusedBackoffMs?: number
  /** After giving a slot back to another process (`yieldOne`), how long this process does not ask Redis for one of the target (default YIELD_HOLD_MS). */
  yieldHoldMs?: number
}

/** Lease a handed-on slot must have left beyond one attempt, or it is renewed first (ms). */
const RENEW_MARGIN_MS = 5_000
/**
 * How long a slot nobody waits for is kept for the next event to the same target (ms). Taking
 * and giving back a slot costs 10 Redis commands. Slots count against the project's own limits
 * only, so a kept one holds back nobody but the same project's retries (parked jobs, woken when
 * it is given back) and its attempts in other dispatchers. 20 ms caught too few: the cost bench
 * (50 callbacks to one target at 14–23 turns/s, load 12) still took and gave back a slot for 78 %
 * of them; a target busier than 4 events/s keeps its slots with 250 ms.
 */
export const SLOT_LINGER_MS = 250

/**
 * After Redis refused a slot of a target this process holds some of, it does not ask again for
 * this long (ms): its attempts wait in its own line for the slots it holds. Several worker
 * processes sharing a target (10 slots) asked on every take their own slots could not serve, each
 * refused ask 7 commands (issue 14).
 */
export const REFUSED_BACKOFF_MS = 100
/**
 * After giving a slot back because another process wanted one (`yieldOne`), this process does
 * not ask Redis for that target for this long (ms), so the slot goes to the one that wanted it.
 */
export const YIELD_HOLD_MS = 500
/** Polling for a slot while holding none (`take`'s `pollMs`): the first wait and the longest (ms). */
const POLL_FIRST_MS = 5
const POLL_MAX_MS = 100

/**
 * The in-flight slots of first attempts, per (project, target). A target full of this process's
 * own attempts (a project's callbacks share one target and its limit) frees a slot here within an
 * attempt's time: an event waits for it here (at most `maxWaiting` per target) rather than as a
 * parked job, and gets the slot handed on without asking Redis. A slot nobody waits for is kept
 * `lingerMs` for the next event to the target, then given back (`done`'s `giveBack`, which wakes
 * the project's longest-parked job).
 */
export function createFirstAttemptSlots(deps: FirstAttemptSlotsDeps) {
  /** Slots this process's first attempts hold, per (project, target). */
  const held = new Map<string, number>()
  /** First attempts waiting here for a slot of (project, target): each gets one, or null to try taking one. */
  const waiting = new Map<string, ((slot: HeldSlot | null) => void)[]>()
  /** Slots nobody waited for, kept a moment for the next event to the target; `expire` gives one back. */
  const idle = new Map<string, { slot: HeldSlot; timer: NodeJS.Timeout; expire: () => Promise<void> }[]>()
  const keyOf = (project: string, target: string) => `${project}|${target}`
  const lingerMs = deps.lingerMs ?? SLOT_LINGER_MS
  /** Per (project, target): no asking Redis before this time (ms) while holding some (a refusal's backoff, a yield's hold). */
  const noAskUntil = new Map<string, number>()
  /** Per (project, target): slots to give back at their attempt's end instead of handing on (`yieldOne`). */
  const toYield = new Map<string, number>()
  /** (project, target) keys for which one take polls Redis while this process holds none; the others wait in line behind it. */
  const polling = new Set<string>()
  let seq = 0
  let closing = false

  /** Whether `slot` still has lease for one more attempt, renewed if it had to be; false when its lease was gone. */
  async function fresh(project: string, target: string, slot: HeldSlot): Promise<boolean> {
    if (slot.leaseUntil - Date.now() >= deps.attemptMs + RENEW_MARGIN_MS) return true
    const leaseUntil = Date.now() + deps.leaseMs
    const renewed = await deps.slots.handOver({ project, target, from: slot.member, to: slot.member, leaseMs: deps.leaseMs }).catch(() => false)
    if (renewed) slot.leaseUntil = leaseUntil
    return renewed
  }

  /** A slot taken here is no longer held (given back, or its lease gone): the next waiter tries to take one. */
  function released(project: string, target: string): void {
    const key = keyOf(project, target)
    const n = (held.get(key) ?? 1) - 1
    if (n > 0) held.set(key, n)
    else held.delete(key)
    nextWaiter(key)?.(null)
  }

  /**
   * An ask counted as held was refused (or failed): not held after all. Waiters that queued behind
   * it are handed slots by this process's other holders; with none left, the next one tries for itself.
   */
  function unreserve(key: string): void {
    const n = (held.get(key) ?? 1) - 1
    if (n > 0) return void held.set(key, n)
    held.delete(key)
    nextWaiter(key)?.(null)
  }

  function takeIdle(key: string): HeldSlot | null {
    const list = idle.get(key)
    const spare = list?.pop()
    if (list?.length === 0) idle.delete(key)
    if (!spare) return null
    clearTimeout(spare.timer)
    return spare.slot
  }

  function nextWaiter(key: string) {
    const queue = waiting.get(key)
    const next = queue?.shift()
    if (queue?.length === 0) waiting.delete(key)
    return next
  }

  return {
    /**
     * A slot for an attempt to `target` of `project`: taken in Redis (acquireDeliverySlot-2.lua),
     * or waited for here while this process alone holds every slot of the target. Null when the
     * event should queue instead (a limit held by others, or too many waiting, or closing; with
     * `wait: false`, also when only this process's own attempts hold the target).
     */
    async take(project: string, target: string, opts: { wait?: boolean; pollMs?: number } = {}): Promise<HeldSlot | null> {
      const key = keyOf(project, target)
      const pollUntil = opts.pollMs === undefined ? 0 : Date.now() + opts.pollMs
      let pollWait = POLL_FIRST_MS
      for (;;) {
        const spare = takeIdle(key)
        if (spare) {
          if (await fresh(project, target, spare)) return spare
          released(project, target)
          continue
        }
        let result: 'taken' | 'project_busy' | 'target_busy' = 'target_busy'
        const holding = held.get(key) ?? 0
        // This process alone holds every slot of the target: no need to ask Redis, wait in line.
        // Nor while backing off after a refusal or a yield (holding some: they are handed on here).
        const mayAsk = holding < deps.endpointConcurrency && (holding === 0 || Date.now() >= (noAskUntil.get(key) ?? 0))
        if (mayAsk && !(holding === 0 && polling.has(key))) {
          const member = `${deps.consumer}#${++seq}`
          const leaseUntil = Date.now() + deps.leaseMs
          // Counted as held while asked for: takes at the same moment (a burst of commits) wait in
          // line once the asks reach the limit, instead of each asking Redis and most being refused
          // (the cost bench's 50 turns at once: 1.0 acquire a turn, 7.8 commands; issue 14).
          held.set(key, (held.get(key) ?? 0) + 1)
          try {
            result = await deps.slots.acquire({
              project,
              target,
              member,
              projectLimit: deps.projectConcurrency,
              targetLimit: deps.endpointConcurrency,
              leaseMs: deps.leaseMs,
            })
          } catch (err) {
            unreserve(key)
            throw err
          }
          if (result === 'taken') return { member, leaseUntil }
          unreserve(key)
          if (held.get(key)) noAskUntil.set(key, Date.now() + (deps.refusedBackoffMs ?? REFUSED_BACKOFF_MS))
        }
        const queue = waiting.get(key) ?? []
        if (closing || queue.length >= deps.maxWaiting || opts.wait === false) return null
        if (!held.get(key)) {
          // Holding none: nobody here hands one on. With `pollMs`, one take asks Redis again after
          // a growing wait (holders elsewhere give one back on the want: `yieldOne`) until then;
          // the others wait in line behind it.
          if (Date.now() >= pollUntil) {
            // Given up: the next in line (if any) polls for itself.
            if (opts.pollMs !== undefined && !polling.has(key)) nextWaiter(key)?.(null)
            return null
          }
          if (!polling.has(key)) {
            polling.add(key)
            await new Promise((r) => setTimeout(r, pollWait))
            polling.delete(key)
            pollWait = Math.min(pollWait * 2, POLL_MAX_MS)
            continue
          }
        } else if (result !== 'target_busy' && mayAsk) {
          return null
        }
        waiting.set(key, queue)
        const handed = await new Promise<HeldSlot | null>((wake) => queue.push(wake))
        if (handed) return handed
      }
    },

    /**
     * An attempt holding `slot` has ended (its record written): the slot goes to the next attempt
     * waiting here for the target, else it is kept `lingerMs` for the next one, then given back
     * with `giveBack` (the Redis release and the wake of a parked job; errors are the caller's to
     * swallow: the lease then runs out by itself).
     */
    async done(project: string, target: string, slot: HeldSlot, giveBack: () => Promise<void>): Promise<void> {
      const key = keyOf(project, target)
      const owed = toYield.get(key) ?? 0
      if (owed > 0) {
        // Another process wants one (`yieldOne`): given back, not handed on.
        if (owed > 1) toYield.set(key, owed - 1)
        else toYield.delete(key)
        await giveBack().catch(() => undefined)
        return released(project, target)
      }
      if (waiting.get(key)?.length) {
        if (!(await fresh(project, target, slot))) return released(project, target)
        const next = nextWaiter(key)
        if (next) return next(slot)
      }
      const list = idle.get(key) ?? []
      idle.set(key, list)
      const entry = {
        slot,
        timer: setTimeout(() => void entry.expire(), closing ? 0 : lingerMs),
        expire: async () => {
          const at = idle.get(key)?.indexOf(entry) ?? -1
          if (at < 0) return
          idle.get(key)!.splice(at, 1)
          if (idle.get(key)!.length === 0) idle.delete(key)
          clearTimeout(entry.timer)
          await giveBack().catch(() => undefined)
          released(project, target)
        },
      }
      list.push(entry)
    },

    /**
     * A slot of (project, target) taken for this process beside a read (services/webhooks
     * checkReadEntries-1.lua), before the attempt it is for asks: held here from now on, handed
     * to a waiter or kept as an ended attempt's is (`done`), so that attempt's `take` finds it.
     */
    adopt(project: string, target: string, slot: HeldSlot, giveBack: () => Promise<void>): Promise<void> {
      const key = keyOf(project, target)
      held.set(key, (held.get(key) ?? 0) + 1)
      return this.done(project, target, slot, giveBack)
    },

    /** Projects of which this process holds a slot of `target` now (in use, kept, or being asked for). */
    projectsHolding(target: string): string[] {
      const out: string[] = []
      const tail = `|${target}`
      for (const key of held.keys()) if (key.endsWith(tail)) out.push(key.slice(0, -tail.length))
      return out
    },

    /**
     * Another process wants a slot of (project, target) and holds none it could hand on (keys.ts
     * `webhookWant`): one of ours goes back to Redis — a kept one now, else the next attempt's to
     * end — unless we hold fewer than two (our own line would then have none); and we do not ask
     * Redis for one for `yieldHoldMs`, so the one that wanted it gets it.
     */
    yieldOne(project: string, target: string): void {
      const key = keyOf(project, target)
      const holding = held.get(key) ?? 0
      if (holding - (toYield.get(key) ?? 0) < 2) return
      noAskUntil.set(key, Date.now() + (deps.yieldHoldMs ?? YIELD_HOLD_MS))
      const kept = idle.get(key)
      if (kept?.length) return void kept[kept.length - 1]!.expire()
      toYield.set(key, (toYield.get(key) ?? 0) + 1)
    },

    /** `slot` was given back by the caller (or its lease is gone): no longer held here. */
    released,

    /** Slots of (project, target) this process holds now (in use or kept). */
    holding: (project: string, target: string): number => held.get(keyOf(project, target)) ?? 0,

    /** No more waiting in line, and the kept slots given back now. */
    async close(): Promise<void> {
      closing = true
      await Promise.all([...idle.values()].flat().map((e) => e.expire()))
    },
  }
}
export type FirstAttemptSlots = ReturnType<typeof createFirstAttemptSlots>
