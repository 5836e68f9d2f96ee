/**
 * The watch over the runs this process drives: each ends `expired` at its `expires_at` and is
 * aborted as `cancelled` when a re-read finds it `cancelling` (the backstop for a cancel whose
 * pub/sub message was lost). One timer for all of them, not two per run (issue 14: a turn set and
 * cleared a timeout and an interval, on a path of a few milliseconds): the timeout is armed for the
 * earliest deadline and left alone while later ones come and go, and one interval re-reads the
 * statuses of the runs driven longer than `statusCheckMs`.
 */
export interface RunWatchDeps {
  /** Ends the run's drive (cancel-registry `abort`). */
  abort: (runId: string, reason: 'expired' | 'cancelled') => void
  /** The run's stored status as its JSON (`'"cancelling"'`), null when gone. */
  readStatus: (threadId: string, runId: string) => Promise<string | null>
  /** How often a driven run's status is re-read (ms). */
  statusCheckMs: number
}

interface Watched {
  threadId: string
  /** When it expires (epoch ms), null: never. */
  expiresAt: number | null
  /** When its status is first re-read (epoch ms). */
  checkFrom: number
}

export function createRunWatch(deps: RunWatchDeps) {
  const runs = new Map<string, Watched>()
  let deadline: NodeJS.Timeout | null = null
  /** What `deadline` is armed for (epoch ms); Infinity when unarmed. */
  let armedAt = Number.POSITIVE_INFINITY
  let poll: NodeJS.Timeout | null = null

  function arm(at: number): void {
    if (deadline) clearTimeout(deadline)
    armedAt = at
    deadline = setTimeout(expireDue, Math.max(0, at - Date.now()))
    deadline.unref()
  }

  function expireDue(): void {
    deadline = null
    armedAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const [runId, w] of runs) {
      if (w.expiresAt === null) continue
      if (w.expiresAt <= now) {
        runs.delete(runId)
        deps.abort(runId, 'expired')
      } else if (w.expiresAt < next) next = w.expiresAt
    }
    if (next !== Number.POSITIVE_INFINITY) arm(next)
  }

  function checkStatuses(): void {
    const now = Date.now()
    for (const [runId, w] of runs) {
      if (w.checkFrom > now) continue
      deps
        .readStatus(w.threadId, runId)
        .then((status) => {
          if (status === '"cancelling"' && runs.has(runId)) deps.abort(runId, 'cancelled')
        })
        .catch(() => {})
    }
  }

  return {
    /**
     * Watches run `runId` until the returned function is called: aborted `expired` at `expiresAt`
     * (epoch ms; null: never), and `cancelled` when found `cancelling`, re-read from `statusCheckMs`
     * after now on. Deadlines are exact (a timeout); status re-reads happen within `statusCheckMs` more.
     */
    watch(runId: string, threadId: string, expiresAt: number | null): () => void {
      const w: Watched = { threadId, expiresAt, checkFrom: Date.now() + deps.statusCheckMs }
      runs.set(runId, w)
      // A later deadline than the armed one waits for it (it re-arms for the next when it fires).
      if (expiresAt !== null && expiresAt < armedAt) arm(expiresAt)
      if (!poll) {
        poll = setInterval(checkStatuses, deps.statusCheckMs)
        poll.unref()
      }
      return () => {
        if (runs.get(runId) === w) runs.delete(runId)
      }
    },
    /** Runs watched now. */
    get size(): number {
      return runs.size
    },
    /** Stops both timers (the runs are no longer watched). */
    close(): void {
      runs.clear()
      if (deadline) clearTimeout(deadline)
      if (poll) clearInterval(poll)
      deadline = poll = null
      armedAt = Number.POSITIVE_INFINITY
    },
  }
}
export type RunWatch = ReturnType<typeof createRunWatch>
