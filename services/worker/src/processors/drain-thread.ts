import type { Logger } from '@threadwork/logger'
import type { Stores } from '@threadwork/storage'
import type { ItemResult } from '../run-executor.js'

export interface DrainDeps {
  stores: Stores
  log: Logger
  executeRun: (threadId: string, runId: string, fence: number, item: string) => Promise<ItemResult>
  /** Starts a queued turn (adds its message, creates its run); null until turns exist. */
  startTurn?: (threadId: string, turnId: string, fence: number, item: string) => Promise<ItemResult>
}

/**
 * Works through one thread's mailbox in order, one item at a time, until it is empty or its head
 * waits on the client. The claim bumps the thread's fence: if BullMQ re-runs this job elsewhere
 * after a lost lock, the newer attempt's fence wins and every commit of this one is refused.
 */
export function createDrainProcessor(deps: DrainDeps) {
  const { stores } = deps
  return async function drainThread(threadId: string): Promise<void> {
    let { fence, head } = await stores.runs.claim(threadId)
    while (head) {
      let result: ItemResult
      if (head.startsWith('run:')) result = await deps.executeRun(threadId, head.slice(4), fence, head)
      else if (head.startsWith('turn:') && deps.startTurn) result = await deps.startTurn(threadId, head.slice(5), fence, head)
      else {
        deps.log.warn({ threadId, item: head }, 'dropping unknown mailbox item')
        await stores.redis.lrem(stores.keys.mailbox(threadId), 1, head)
        result = 'done'
      }
      if (result !== 'done') return
      // Still ours? A newer claim means another attempt owns the thread now.
      const [current, next] = await Promise.all([stores.redis.get(stores.keys.fence(threadId)), stores.redis.lindex(stores.keys.mailbox(threadId), 0)])
      if (Number(current) !== fence) return
      head = next
    }
  }
}
