import type { RunStatus } from './resources/run.js'

/**
 * OpenAI's run lifecycle (research/assistants-v2-surface.md §5.5). Storage applies every change with
 * a compare-and-set script that consults this table, so no code path can invent a transition.
 */
export const runTransitions = {
  queued: ['in_progress', 'cancelling', 'cancelled', 'expired', 'failed'],
  in_progress: ['requires_action', 'completed', 'failed', 'incomplete', 'cancelling', 'expired'],
  requires_action: ['queued', 'in_progress', 'cancelling', 'expired'],
  cancelling: ['cancelled', 'failed', 'completed', 'incomplete', 'expired'],
  cancelled: [],
  completed: [],
  failed: [],
  incomplete: [],
  expired: [],
} as const satisfies Record<RunStatus, readonly RunStatus[]>

export const canTransition = (from: RunStatus, to: RunStatus): boolean =>
  (runTransitions[from] as readonly RunStatus[]).includes(to)

/** Statuses from which `to` may be reached: the CAS script's allowed "from" set. */
export const allowedFrom = (to: RunStatus): RunStatus[] =>
  (Object.keys(runTransitions) as RunStatus[]).filter((from) => canTransition(from, to))
