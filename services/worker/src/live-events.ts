import { type Keys, type RedisClient, runScript, scripts } from '@threadwork/storage'

/** Events kept per run for a late-subscribing SSE reader; one run's deltas rarely exceed this. */
const MAX_EVENTS = 50_000

/**
 * How long {@link LiveEvents.emitAll}'s promise waits for Redis's reply at most: a caller holding
 * the rest of a reply behind it goes on after this even while Redis is unreachable.
 */
export const APPEND_WAIT_MS = 100

export type LiveEvents = ReturnType<typeof createLiveEvents>

/** An event for {@link LiveEvents.emitAll}: its data as a value, or already as JSON text (`json` wins). */
export interface LiveEventIn {
  event: string
  data?: unknown
  json?: string
}

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
    /** Resolves once Redis has appended it (or failed to: the append stays fire-and-forget). */
    emit(threadId: string, runId: string, event: string, data: unknown, fence: number): Promise<void> | undefined {
      const key = k.runEvents(threadId, runId)
      return redis.xadd(key, 'NOMKSTREAM', 'MAXLEN', '~', MAX_EVENTS, '*', 'event', event, 'data', JSON.stringify(data), 'fence', fence).then(ignore, ignore)
    },
    /**
     * Several events in one command (appendLiveEvents-1.lua): a blocked reader is woken once,
     * after the last of them, and gets them in one reply (the opening events with the first delta
     * cost one relay hop, not five). One script call, not a MULTI of XADDs: seven commands cost
     * the worker ~0.2 ms more to build and send, on the relay's critical path (issue 14).
     *
     * Resolves once Redis has appended them (or failed to; the append stays fire-and-forget), or
     * after {@link APPEND_WAIT_MS}: the round stream holds the rest of a reply that arrived at
     * once behind it (round-stream.ts, `text`). Undefined when there is nothing to wait for.
     * Order: ioredis sends a script as EVAL the first time on each connection, so it stays in
     * line with the appends after it; only after a SCRIPT FLUSH does its EVALSHA come back
     * NOSCRIPT and get resent behind them, and the hold covers that resend (within the wait).
     */
    emitAll(threadId: string, runId: string, events: readonly LiveEventIn[], fence: number): Promise<void> | undefined {
      const args: (string | number)[] = [MAX_EVENTS, fence]
      for (const e of events) args.push(e.event, e.json ?? JSON.stringify(e.data))
      return atMost(runScript(redis, scripts.appendLiveEvents, [k.runEvents(threadId, runId)], args), APPEND_WAIT_MS)
    },
  }
}

const ignore = (): void => {}

/** Resolves when `p` settles or after `ms`, whichever comes first; never rejects. */
export function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    p.then(done, done)
  })
}

/**
 * A live-event sink that writes nothing, for runs nobody can stream (see `RunInternal.live`): their
 * deltas cost no Redis command. A new object each call, so a metrics wrapper can watch it.
 */
export const createDroppedLiveEvents = (): LiveEvents => ({ emit: () => undefined, emitAll: () => undefined })
