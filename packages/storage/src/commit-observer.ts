import type { CommitOutcome, CommitPlan } from './run-store.js'
import type { Stores } from './stores.js'

export interface RunCommitEvent {
  threadId: string
  runId: string
  plan: CommitPlan
  outcome: CommitOutcome
}

/**
 * Calls `listener` after every run commit made through `stores` (the run store's own calls and
 * the run lifecycle's, which shares the store object): the hook metrics count transitions with.
 * A throwing listener never fails a commit.
 */
export function observeRunCommits(stores: Stores, listener: (e: RunCommitEvent) => void): void {
  const runs = stores.runs
  const commit = runs.commit.bind(runs)
  runs.commit = async (threadId, runId, plan) => {
    const outcome = await commit(threadId, runId, plan)
    try {
      listener({ threadId, runId, plan, outcome })
    } catch {
      // Observability must not change behaviour.
    }
    return outcome
  }
}
