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
 * A turn's start (`turns.start`, startTurn-7.lua) creates its run already `in_progress`: it is
 * reported as that run's `in_progress` commit (plan with `run.status`, `internal._turn`).
 * A throwing listener never fails a commit.
 */
export function observeRunCommits(stores: Stores, listener: (e: RunCommitEvent) => void): void {
  const tell = (e: RunCommitEvent) => {
    try {
      listener(e)
    } catch {
      // Observability must not change behaviour.
    }
  }
  const runs = stores.runs
  const commit = runs.commit.bind(runs)
  runs.commit = async (threadId, runId, plan) => {
    const outcome = await commit(threadId, runId, plan)
    tell({ threadId, runId, plan, outcome })
    return outcome
  }
  const turns = stores.turns
  const start = turns.start.bind(turns)
  turns.start = async (args) => {
    const reply = await start(args)
    if (reply.ok && args.run.status === 'in_progress') {
      const plan: CommitPlan = { project: args.project, fence: args.fence, from: ['queued'], run: { status: 'in_progress', started_at: args.run.started_at }, internal: { _turn: args.turn.id } }
      tell({ threadId: args.turn.thread_id, runId: args.run.id, plan, outcome: { ok: true } })
    }
    return reply
  }
}
