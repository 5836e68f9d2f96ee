import { createHash } from 'node:crypto'
import { ApiError } from '@threadwork/domain'
import { type Keys, type RedisClient, runScript, scripts } from '@threadwork/storage'

/** How long a key remembers its turn (Stripe and OpenAI keep keys 24 h). */
const TTL_SECONDS = 24 * 3600
/** How long a retry waits for the first request with the same key to finish storing its turn. */
const WAIT_MS = 3000
/**
 * Age past which a claim whose turn was never stored is taken to be a dead request's (an API
 * process killed between claiming the key and storing the turn, found with `pnpm start` and
 * SIGKILL: 1 key in 670 cut requests stayed claimed, every retry a 409 for 24 h). A live request
 * stores its turn within milliseconds (a few Redis round trips); a minute also covers one stalled
 * by a Redis failover. A request stalled longer than that and then storing its turn would leave
 * two turns for one key: the price of a key that can always be retried.
 */
const STALE_CLAIM_MS = 60_000

export interface IdempotentRef {
  threadId: string
  turnId: string
}

/** A key already claimed: its turn's ids, and the stored record (what a takeover must still find). */
export interface ExistingClaim {
  claimed: false
  ref: IdempotentRef
  /** When the claim was made, Unix ms (0 for records written before this was kept). */
  claimedAt: number
  record: string
}

/**
 * `Idempotency-Key` for turn POSTs: the first request with a key claims it (SET NX) before
 * creating anything; a retry with the same key gets the original turn, never a second one. The
 * body's hash is kept so a key reused for a different request is refused.
 */
export function createIdempotency(redis: RedisClient, k: Keys) {
  const recordOf = (ref: IdempotentRef, digest: string, claimedAt: number) => JSON.stringify({ ...ref, digest, claimedAt })

  return {
    async claim(project: string, key: string, body: unknown, ref: IdempotentRef): Promise<{ claimed: true; digest: string } | (ExistingClaim & { digest: string })> {
      if (key.length > 255) throw ApiError.invalid('Invalid Idempotency-Key: at most 255 characters.', 'Idempotency-Key')
      const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex')
      const record = recordOf(ref, digest, Date.now())
      const redisKey = k.idempotency(project, key)
      const won = await redis.set(redisKey, record, 'EX', TTL_SECONDS, 'NX')
      if (won) return { claimed: true, digest }
      const stored = (await redis.get(redisKey)) ?? record
      const existing = JSON.parse(stored) as IdempotentRef & { digest: string; claimedAt?: number }
      if (existing.digest !== digest) {
        throw new ApiError(400, 'This Idempotency-Key was already used with a different request body.', { code: 'idempotency_key_reused', param: 'Idempotency-Key' })
      }
      return { claimed: false, ref: { threadId: existing.threadId, turnId: existing.turnId }, claimedAt: existing.claimedAt ?? 0, record: stored, digest }
    },

    /**
     * Takes over a claim whose turn was never stored once it is older than any live request's
     * (`STALE_CLAIM_MS`), for `ref`: true if this request now holds the key. Compare-and-set on the
     * record read, so of several retries only one wins; false if it is not stale or changed meanwhile.
     */
    async takeOverStale(project: string, key: string, existing: ExistingClaim & { digest: string }, ref: IdempotentRef): Promise<boolean> {
      if (Date.now() - existing.claimedAt < STALE_CLAIM_MS) return false
      const replaced = await runScript<number>(redis, scripts.replaceIfEqual, [k.idempotency(project, key)], [existing.record, recordOf(ref, existing.digest, Date.now()), TTL_SECONDS])
      return replaced === 1
    },

    /** Frees a key whose request failed before storing anything, so a corrected retry can proceed. */
    async release(project: string, key: string): Promise<void> {
      await redis.del(k.idempotency(project, key))
    },

    waitMs: WAIT_MS,
  }
}
export type Idempotency = ReturnType<typeof createIdempotency>
