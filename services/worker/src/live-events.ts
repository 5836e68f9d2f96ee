import type { Keys, RedisClient } from '@threadwork/storage'

/** Events kept per run for a late-subscribing SSE reader; one run's deltas rarely exceed this. */
const MAX_EVENTS = 50_000
/** Live events are for clients watching now; the durable record is the outbox. */
const TTL_SECONDS = 3600

export type LiveEvents = ReturnType<typeof createLiveEvents>

/**
 * A run's live event stream (`thread.run.*`, `thread.message.delta`, …) as OpenAI's SSE would
 * carry it. The worker appends to a Redis Stream per run; the API process holding the client's
 * connection reads it from the start, so nothing is lost between run creation and subscription.
 * Appends are fire-and-forget: ioredis keeps them ordered on the connection.
 */
export function createLiveEvents(redis: RedisClient, k: Keys) {
  return {
    emit(threadId: string, runId: string, event: string, data: unknown): void {
      const key = k.runEvents(threadId, runId)
      redis.xadd(key, 'MAXLEN', '~', MAX_EVENTS, '*', 'event', event, 'data', JSON.stringify(data)).catch(() => {})
    },
    /** Marks the end of this stream segment (terminal status or requires_action). */
    end(threadId: string, runId: string): void {
      const key = k.runEvents(threadId, runId)
      redis.xadd(key, '*', 'event', 'done', 'data', '[DONE]').catch(() => {})
      redis.expire(key, TTL_SECONDS).catch(() => {})
    },
  }
}
