import type { CommitOutcome, Stores } from '@threadwork/storage'
import type { ItemResult } from './run-executor.js'

/**
 * What a worker does after one of its commits was refused: 'fenced' stops the drain; a run the API
 * is cancelling ends `cancelled` here (fenced); a run that ended meanwhile leaves nothing to write.
 */
export async function afterFailedCommit(stores: Stores, outcome: CommitOutcome, threadId: string, runId: string, fence: number): Promise<ItemResult> {
  if (outcome.ok) return 'done'
  if (outcome.reason === 'fenced') return 'fenced'
  if (outcome.reason === 'status' && outcome.status === 'cancelling') {
    const ended = await stores.runLifecycle.end(threadId, runId, 'cancelled', { fence, from: ['cancelling'] })
    return !ended.ok && ended.reason === 'fenced' ? 'fenced' : 'done'
  }
  // Ended meanwhile (expired, cancelled): nothing of ours to write.
  return 'done'
}
