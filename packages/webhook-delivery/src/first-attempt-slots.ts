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
    async take(project: string, target: string, opts: { wait?: boolean } = {}): Promise<HeldSlot | null> {
      const key = keyOf(project, target)
      for (;;) {
        const spare = takeIdle(key)
        if (spare) {
          if (await fresh(project, target, spare)) return spare
          released(project, target)
          continue
        }
        let result: 'taken' | 'project_busy' | 'target_busy' = 'target_busy'
        // This process alone holds every slot of the target: no need to ask Redis, wait in line.
        if ((held.get(key) ?? 0) < deps.endpointConcurrency) {
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
        }
        const queue = waiting.get(key) ?? []
        if (result !== 'target_busy' || closing || !held.get(key) || queue.length >= deps.maxWaiting || opts.wait === false) return null
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
