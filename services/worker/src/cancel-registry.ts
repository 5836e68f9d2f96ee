import type { RedisClient } from '@threadwork/storage'

export type AbortReason = 'cancelled' | 'expired' | 'shutdown'

/** An abort with a reason the executor can tell apart from upstream failures. */
export class RunAborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`run aborted: ${reason}`)
    this.name = 'RunAborted'
  }
}

export type CancelRegistry = ReturnType<typeof createCancelRegistry>

/**
 * The runs this process is driving, each with an AbortController. The API publishes a run id on
 * the cancel channel; whichever worker holds the run aborts its upstream request at once. Pub/sub
 * may drop a message: the commit's status check (`cancelling`) is the backstop.
 */
export function createCancelRegistry() {
  const running = new Map<string, { controller: AbortController; threadId: string }>()
  // Set by `abortAll`: a drain still working through its thread's mailbox after the grace period
  // would otherwise start the next item with nothing left to stop it; it is handed back at once.
  let closedWith: AbortReason | null = null
  return {
    register(runId: string, threadId: string): AbortController {
      const controller = new AbortController()
      running.set(runId, { controller, threadId })
      if (closedWith) controller.abort(new RunAborted(closedWith))
      return controller
    },
    release(runId: string): void {
      running.delete(runId)
    },
    abort(runId: string, reason: AbortReason): void {
      running.get(runId)?.controller.abort(new RunAborted(reason))
    },
    /** Aborts every run (shutdown): returns the threads they belonged to. */
    abortAll(reason: AbortReason): string[] {
      closedWith = reason
      const threads = [...running.values()].map((r) => r.threadId)
      for (const r of running.values()) r.controller.abort(new RunAborted(reason))
      return threads
    },
    get size() {
      return running.size
    },
    /** Listens on the cancel channel with a dedicated connection (subscribers can't run commands). */
    async listen(subscriber: RedisClient, channel: string): Promise<void> {
      subscriber.on('message', (_channel, runId) => this.abort(runId, 'cancelled'))
      await subscriber.subscribe(channel)
    },
  }
}
