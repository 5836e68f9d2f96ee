import type { Logger } from '@threadwork/logger'
import type { Stores, WakeHint } from '@threadwork/storage'
import type { ItemContext, ItemResult } from '../run-executor.js'
import type { ClaimedWithStart } from './start-turn.js'

export interface DrainDeps {
  stores: Stores
  log: Logger
  executeRun: (threadId: string, runId: string, fence: number, item: string, context?: ItemContext) => Promise<ItemResult>
  /** Starts a queued turn (adds its message, creates its run); null until turns exist. */
  startTurn?: (threadId: string, turnId: string, fence: number, item: string, context?: ItemContext) => Promise<ItemResult>
  /**
   * True once the worker is stopping (SIGTERM): the drain starts no further item and hands the
   * thread over ('handed_back'), so the rest of its mailbox goes to another worker at once instead
   * of being started here and aborted when the grace period ends.
   */
  stopping?: () => boolean
  /**
   * Starts reading what a wake-up's hint names (start-turn.ts `prefetchTurn`); called right after
   * the claim is sent, so its reads queue behind it on the same connection.
   */
  prefetchTurn?: (threadId: string, hint: WakeHint) => ItemContext['prefetched']
  /**
   * Claims the thread and starts the turn a wake-up's hint carries in the same step
   * (start-turn.ts `createClaimAndStartTurn`); null when it cannot (the claim and reads above are
   * made instead).
   */
  claimAndStartTurn?: (threadId: string, hint: WakeHint, wake?: string) => Promise<ClaimedWithStart> | null
}

/**
 * How a drain ended: the mailbox empty, or empty with its wake-up entry already let go by the last
 * commit ('released'), its head waiting on the client, superseded, or handed back (shutdown).
 */
export type DrainEnd = 'empty' | 'released' | 'parked' | 'fenced' | 'handed_back'

/**
 * Works through one thread's mailbox in order, one item at a time, until it is empty or its head
 * waits on the client. The claim bumps the thread's fence: if another worker takes the thread's
 * wake-up over (this one stalled past its lease), the newer attempt's fence wins and every commit
 * of this one is refused.
 */
export function createDrainProcessor(deps: DrainDeps) {
  const { stores } = deps
  /**
   * `wake`: the wake-up entry this drain holds, let go by the commit that empties the mailbox.
   * `hint`: the turn the entry says heads the mailbox; its turn and assistant are read beside the
   * claim (one round trip instead of three) and used only if the claim's head is that turn. A hint
   * carrying the turn, whose assistant this process has read, is started in the claim's own step
   * instead (`claimAndStartTurn`: no reads, one round trip before the model call).
   */
  return async function drainThread(threadId: string, wake?: string, hint?: WakeHint | null): Promise<DrainEnd> {
    let fence: number
    let head: string | null
    let prefetched: ItemContext['prefetched']
    // The hinted turn started in the claim's own step, when it can be (one round trip, no reads).
    const folded = hint && deps.claimAndStartTurn && !deps.stopping?.() ? deps.claimAndStartTurn(threadId, hint, wake) : null
    let started: ItemContext | undefined
    if (folded) ({ fence, head, context: started } = await folded)
    else {
      const claimed = stores.runs.claim(threadId)
      prefetched = hint && deps.prefetchTurn ? deps.prefetchTurn(threadId, hint) : undefined
      ;({ fence, head } = await claimed)
      if (head !== `turn:${hint?.turnId}`) prefetched = undefined
    }
    let released = false
    while (head) {
      // A turn started with the claim is driven even if stopping began since: it is in progress now.
      if (!started && deps.stopping?.()) return 'handed_back'
      let result: ItemResult
      const context: ItemContext = started ?? { wake, prefetched }
      prefetched = undefined
      if (started) {
        started = undefined
        result = await deps.executeRun(threadId, context.loaded!.run.id, fence, head, context)
      } else if (head.startsWith('run:')) result = await deps.executeRun(threadId, head.slice(4), fence, head, context)
      else if (head.startsWith('turn:') && deps.startTurn) result = await deps.startTurn(threadId, head.slice(5), fence, head, context)
      else {
        deps.log.warn({ threadId, item: head }, 'dropping unknown mailbox item')
        await stores.redis.lrem(stores.keys.mailbox(threadId), 1, head)
        result = 'done'
      }
      if (result !== 'done') return result
      // The item's commit popped it under our fence and read the next head: nothing more to ask.
      if (context.nextHead !== undefined) {
        head = context.nextHead
        released = context.released === true
        continue
      }
      // Still ours? A newer claim means another attempt owns the thread now.
      const [current, next] = await Promise.all([stores.redis.get(stores.keys.fence(threadId)), stores.redis.lindex(stores.keys.mailbox(threadId), 0)])
      if (Number(current) !== fence) return 'fenced'
      head = next
    }
    return released ? 'released' : 'empty'
  }
}
