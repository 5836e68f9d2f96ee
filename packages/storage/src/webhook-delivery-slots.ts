import type { Keys } from './keys.js'
import acquireDeliverySlotLua from './lua/acquireDeliverySlot-2.lua'
import handOverDeliverySlotLua from './lua/handOverDeliverySlot-2.lua'
import releaseDeliverySlotLua from './lua/releaseDeliverySlot-4.lua'
import { type RedisClient, runScript, script } from './scripts.js'
import { CALLBACK_OWNER } from './webhook-delivery-log.js'

/**
 * How long a want of a callback slot (keys.ts `webhookWant`) is seen (ms): a holder commits
 * within milliseconds at load; an idle one gives its kept slots back within SLOT_LINGER_MS anyway.
 */
export const WANT_TTL_MS = 1000

const acquireScript = script('acquireDeliverySlot', acquireDeliverySlotLua)
const handOverScript = script('handOverDeliverySlot', handOverDeliverySlotLua)
const releaseScript = script('releaseDeliverySlot', releaseDeliverySlotLua)

/** `taken`, or which limit refused the slot. */
export type SlotResult = 'taken' | 'project_busy' | 'target_busy'

export type DeliverySlots = ReturnType<typeof createDeliverySlots>

/**
 * In-flight slots of webhook delivery attempts, shared by every dispatcher process: at most
 * `projectLimit` attempts of one project and `targetLimit` of one target (endpoint or the
 * project's callback_urls) at once. Slots are leases (`leaseMs`), so a killed dispatcher's slots
 * free themselves. A job that found no slot parks itself; each released slot wakes the
 * longest-parked job that can use it (no polling): one waiting for that target's limit, else one
 * waiting for the project's. Keys live under the project's hash tag (one Redis Cluster slot).
 */
export function createDeliverySlots(redis: RedisClient, k: Keys) {
  return {
    async acquire(o: { project: string; target: string; member: string; projectLimit: number; targetLimit: number; leaseMs: number }): Promise<SlotResult> {
      const now = Date.now()
      const reply = await runScript<number>(
        redis,
        acquireScript,
        [k.webhookInflight(o.project), k.webhookInflightTarget(o.project, o.target)],
        [now, now + o.leaseMs, o.member, o.projectLimit, o.targetLimit],
      )
      return reply === 1 ? 'taken' : reply === -1 ? 'project_busy' : 'target_busy'
    },

    /**
     * Moves `from`'s slot of (project, target) to `to` with a fresh lease (`to` = `from`: renews
     * it); false if `from` no longer held it (its lease expired and was dropped).
     */
    async handOver(o: { project: string; target: string; from: string; to: string; leaseMs: number }): Promise<boolean> {
      const now = Date.now()
      const reply = await runScript<number>(redis, handOverScript, [k.webhookInflight(o.project), k.webhookInflightTarget(o.project, o.target)], [o.from, o.to, now + o.leaseMs, now])
      return reply === 1
    },

    async release(project: string, target: string, member: string): Promise<void> {
      await Promise.all([redis.zrem(k.webhookInflight(project), member), redis.zrem(k.webhookInflightTarget(project, target), member)])
    },

    /**
     * Gives back `member`'s slot of (project, target) and pops the longest-parked job waiting for
     * that target's limit, else the project's longest-parked one, one script call (`release` then
     * `unparkOne` were two round trips). Resolves to the popped job id for the caller to wake, or
     * null when none waits.
     */
    async releaseAndUnpark(project: string, target: string, member: string): Promise<string | null> {
      const id = await runScript<string>(
        redis,
        releaseScript,
        [k.webhookInflight(project), k.webhookInflightTarget(project, target), k.webhookParked(project), k.webhookParkedTarget(project, target)],
        [member],
      )
      return id || null
    },

    /** Attempts of `project` (or of one of its targets) in flight now. */
    async inFlight(project: string, target?: string): Promise<number> {
      return redis.zcount(target === undefined ? k.webhookInflight(project) : k.webhookInflightTarget(project, target), Date.now(), '+inf')
    },

    /**
     * Records a job that waits for a slot of `project`, or with `target`, for a slot of that
     * target (its limit refused the job, not the project's); kept a day at most (a woken job is
     * popped, one that got a slot otherwise leaves with `unpark`).
     */
    async park(project: string, jobId: string, target?: string): Promise<void> {
      const key = target === undefined ? k.webhookParked(project) : k.webhookParkedTarget(project, target)
      const multi = redis.multi().zadd(key, 'NX', Date.now(), jobId).expire(key, 86_400)
      // Worker processes may hold the project's callback slots, kept and handed on among their own
      // attempts without asking Redis: they learn of this job from the want and give one back.
      if (target === undefined || target === CALLBACK_OWNER) multi.set(k.webhookWant(project), `park:${jobId}`, 'PX', WANT_TTL_MS)
      await multi.exec()
    },

    /**
     * Says that a slot of the project's callbacks is wanted (keys.ts `webhookWant`), with a value
     * of the caller's that is new each time: each worker process holding some gives one back.
     */
    async want(project: string, value: string): Promise<void> {
      await redis.set(k.webhookWant(project), value, 'PX', WANT_TTL_MS)
    },

    /**
     * Whether `jobId` still waits where `park` put it: false once a release popped it (its wake
     * is on its way, or was missed because the job was not asleep yet).
     */
    async isParked(project: string, jobId: string, target?: string): Promise<boolean> {
      return (await redis.zscore(target === undefined ? k.webhookParked(project) : k.webhookParkedTarget(project, target), jobId)) !== null
    },

    /**
     * A parked job that got its slot all the same (woken by its safety timer, or promoted by its
     * FIFO's hand-off) leaves the lists: otherwise a later release would pop it, wake nothing, and
     * leave a job that does wait asleep.
     */
    async unpark(project: string, target: string, jobId: string): Promise<void> {
      await redis.multi().zrem(k.webhookParked(project), jobId).zrem(k.webhookParkedTarget(project, target), jobId).exec()
    },

    /** The longest-waiting parked job of `project`, removed from the list; null when none waits. */
    async unparkOne(project: string): Promise<string | null> {
      const [id] = await redis.zpopmin(k.webhookParked(project))
      return id ?? null
    },
  }
}
