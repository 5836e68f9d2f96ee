import { createHash } from 'node:crypto'
import { ApiError } from '@threadwork/domain'
import type { Keys, RedisClient } from '@threadwork/storage'

/** How long a key remembers its turn (Stripe and OpenAI keep keys 24 h). */
const TTL_SECONDS = 24 * 3600
/** How long a retry waits for the first request with the same key to finish storing its turn. */
const WAIT_MS = 3000

export interface IdempotentRef {
  threadId: string
  turnId: string
}

/**
 * `Idempotency-Key` for turn POSTs: the first request with a key claims it (SET NX) before
 * creating anything; a retry with the same key gets the original turn, never a second one. The
 * body's hash is kept so a key reused for a different request is refused.
 */
export function createIdempotency(redis: RedisClient, k: Keys) {
  return {
    async claim(project: string, key: string, body: unknown, ref: IdempotentRef): Promise<{ claimed: true } | { claimed: false; ref: IdempotentRef }> {
      if (key.length > 255) throw ApiError.invalid('Invalid Idempotency-Key: at most 255 characters.', 'Idempotency-Key')
      const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex')
      const record = JSON.stringify({ ...ref, digest })
      const redisKey = k.idempotency(project, key)
      const won = await redis.set(redisKey, record, 'EX', TTL_SECONDS, 'NX')
      if (won) return { claimed: true }
      const existing = JSON.parse((await redis.get(redisKey)) ?? record) as IdempotentRef & { digest: string }
      if (existing.digest !== digest) {
        throw new ApiError(400, 'This Idempotency-Key was already used with a different request body.', { code: 'idempotency_key_reused', param: 'Idempotency-Key' })
      }
      return { claimed: false, ref: { threadId: existing.threadId, turnId: existing.turnId } }
    },

    /** Frees a key whose request failed before storing anything, so a corrected retry can proceed. */
    async release(project: string, key: string): Promise<void> {
      await redis.del(k.idempotency(project, key))
    },

    waitMs: WAIT_MS,
  }
}
export type Idempotency = ReturnType<typeof createIdempotency>
