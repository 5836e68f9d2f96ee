import { type RedisClient, parseWebhookFifoMember, webhookFifoMember } from '@threadwork/storage'
import type { Queue } from 'bullmq'
import { type DeliveryJob, GROUP, deliveryJobId } from '@threadwork/webhook-delivery'

/**
 * Per (target, thread) order. Each target has one FIFO per thread: a sorted set whose members,
 * `<outbox entry id, zero-padded>|<evt>` (`<…>.<place in the entry>|<evt>` for an event of an
 * entry carrying several), all have score 0, so they sort by entry id and place, which is
 * commit order. Only the head may be sent; it leaves the FIFO when it is delivered, given up or
 * exhausted, and then promotes the next job. A late insert (a reclaimed entry) still lands in
 * its place. See the README's "Ordering".
 */

/**
 * `1712345678901-3` + `evt_…` (+ its place in a packed entry) → a member that sorts by entry id,
 * then place. Members of one entry are all packed or all not, so the two forms never compare.
 * In storage: a commit that takes its own callback (commitRun-6.lua `direct`) writes the same.
 */
export const fifoMember = webhookFifoMember

const memberEvt = (member: string) => parseWebhookFifoMember(member).evt
const memberEntryId = (member: string) => parseWebhookFifoMember(member).entryId

/** `wait.behind`: true when another event is ahead in the FIFO (its release wakes this job). */
export type GateDecision = { kind: 'go' } | { kind: 'done' } | { kind: 'wait'; ms: number; behind: boolean }

export interface FifoDeps {
  redis: RedisClient
  queue: Queue<DeliveryJob>
  /** The shard's outbox stream, whose pending entries may still add older events. */
  outboxKey: string
  /** Re-check delay while the head is being sent (a promote usually comes first). */
  recheckMs: number
  /** Upper bound on one wait, so a lost promote costs at most this. */
  maxWaitMs: number
}

/**
 * May this job send now? `go` when it is the head of its FIFO and no older outbox entry of the
 * shard is still being fanned out (that entry could belong to the same thread and target);
 * `done` when it is no longer in the FIFO (already handled); else how long to wait.
 */
export async function gate(deps: FifoDeps, fifoKey: string, member: string, target: string): Promise<GateDecision> {
  const { redis, queue } = deps
  // Not in the FIFO: handled already, unless its entry is still pending. A first attempt's retry
  // job whose entry another dispatcher claimed meanwhile (first-attempts.ts) is in that state until
  // the claimer has put the event back in line; it must wait for that, not end.
  const absent = async (): Promise<GateDecision> =>
    (await stillFanningOut(deps, memberEntryId(member))) ? { kind: 'wait', ms: Math.min(250, deps.maxWaitMs), behind: false } : { kind: 'done' }
  for (let guard = 0; guard < 10; guard++) {
    const [head] = await redis.zrange(fifoKey, 0, 0)
    if (head === undefined) return absent()
    if (head !== member) {
      if ((await redis.zscore(fifoKey, member)) === null) return absent()
      const headJob = await queue.getJob(deliveryJobId(memberEvt(head), target))
      const state = headJob ? await headJob.getState() : 'unknown'
      if (state === 'completed' || state === 'failed' || (state === 'unknown' && !(await stillFanningOut(deps, memberEntryId(head))))) {
        // A head whose job is finished or gone (a crash between send and release, or a re-added
        // entry) would block the FIFO forever: drop it and look again.
        await redis.zrem(fifoKey, head)
        continue
      }
      const retryAt = state === 'delayed' ? headJob?.data.retryAt : null
      const ms = retryAt ? retryAt - Date.now() + 50 : deps.recheckMs
      return { kind: 'wait', ms: Math.min(Math.max(ms, 50), deps.maxWaitMs), behind: true }
    }
    // An event after the first of a packed entry also waits for its own entry: the events before
    // it in the entry may still be attempted straight from the outbox, outside the FIFO.
    const place = parseWebhookFifoMember(member)
    const older = await redis.xpending(deps.outboxKey, GROUP, '-', place.sub > 0 ? place.entryId : `(${place.entryId}`, 1)
    if (Array.isArray(older) && older.length > 0) return { kind: 'wait', ms: Math.min(250, deps.maxWaitMs), behind: false }
    return { kind: 'go' }
  }
  return { kind: 'wait', ms: deps.recheckMs, behind: true }
}

async function stillFanningOut(deps: FifoDeps, entryId: string): Promise<boolean> {
  const pending = await deps.redis.xpending(deps.outboxKey, GROUP, entryId, entryId, 1)
  return Array.isArray(pending) && pending.length > 0
}

/** Whether `member` is the head of its FIFO now. */
export async function isHead(redis: RedisClient, fifoKey: string, member: string): Promise<boolean> {
  const [head] = await redis.zrange(fifoKey, 0, 0)
  return head === member
}

/** Removes a handled member and wakes the job now at the head (it may be waiting in `delayed`). */
export async function release(deps: FifoDeps, fifoKey: string, member: string, target: string): Promise<void> {
  await deps.redis.zrem(fifoKey, member)
  const [head] = await deps.redis.zrange(fifoKey, 0, 0)
  if (head === undefined) return
  const next = await deps.queue.getJob(deliveryJobId(memberEvt(head), target))
  // It may be active or waiting already; then there is nothing to wake.
  if (next && (await next.isDelayed())) await next.promote().catch(() => undefined)
}
