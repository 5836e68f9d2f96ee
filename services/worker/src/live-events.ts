import type { Keys, RedisClient } from '@threadwork/storage'

/** Events kept per run for a late-subscribing SSE reader; one run's deltas rarely exceed this. */
const MAX_EVENTS = 50_000

export type LiveEvents = ReturnType<typeof createLiveEvents>

/**
 * A run's live event stream (`thread.run.*`, `thread.message.delta`, …) as OpenAI's SSE would
 * carry it. The worker appends deltas here as they arrive; everything that goes with a state
 * change (`thread.run.in_progress`, the closing events, `done`) is appended by the commit itself
 * (`CommitPlan.live`), so it is never missing once the state is written. The API process holding
 * the client's connection reads the stream from the start (services/api/src/streaming).
 *
 * Each entry carries the claim's fencing token: after a takeover the new attempt's entries have a
 * higher one, which tells the API's reader that the round restarted (and that entries a superseded
 * attempt still appends are stale). Appends are fire-and-forget: ioredis keeps them ordered on the
 * connection, before the commit that follows them on the same connection. They never create the
 * stream (NOMKSTREAM): the run's creation or its `in_progress` commit did, so an append arriving
 * after the thread was deleted (or the stream expired) cannot leave a key behind without a TTL.
 */
export function createLiveEvents(redis: RedisClient, k: Keys) {
  return {
    emit(threadId: string, runId: string, event: string, data: unknown, fence: number): void {
      const key = k.runEvents(threadId, runId)
      redis.xadd(key, 'NOMKSTREAM', 'MAXLEN', '~', MAX_EVENTS, '*', 'event', event, 'data', JSON.stringify(data), 'fence', fence).catch(() => {})
    },
    /**
     * Several events in one MULTI: a blocked reader is woken once, after the last of them, and
     * gets them in one reply (the opening events with the first delta cost one relay hop, not five).
     */
    emitAll(threadId: string, runId: string, events: readonly { event: string; data: unknown }[], fence: number): void {
      const key = k.runEvents(threadId, runId)
      const tx = redis.multi()
      for (const e of events) tx.xadd(key, 'NOMKSTREAM', 'MAXLEN', '~', MAX_EVENTS, '*', 'event', e.event, 'data', JSON.stringify(e.data), 'fence', fence)
      tx.exec().catch(() => {})
    },
  }
}

/**
 * A live-event sink that writes nothing, for runs nobody can stream (see `RunInternal.live`): their
 * deltas cost no Redis command. A new object each call, so a metrics wrapper can watch it.
 */
export const createDroppedLiveEvents = (): LiveEvents => ({ emit: () => {}, emitAll: () => {} })
