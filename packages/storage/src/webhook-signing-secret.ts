import {
  ApiError,
  SECRET_GRACE_SECONDS,
  type WebhookRotateSecretParams,
  type WebhookSigningSecret,
  generateSigningSecret,
  nowSeconds,
  secretHint,
} from '@threadwork/domain'
import type { Keys } from './keys.js'
import rotateSecretLua from './lua/rotateSecret-1.lua'
import { type RedisClient, runScript, script } from './scripts.js'

/** Shared with the endpoint store: one script for both kinds of secret. */
export const rotateSecretScript = script('rotateSecret', rotateSecretLua)

export type ProjectSigningSecret = ReturnType<typeof createProjectSigningSecret>

/**
 * The project's signing secret for turn `callback_url` deliveries: one per project, created on
 * first use (by the API or by the dispatcher's first callback), rotated like an endpoint's. The
 * hash (`_project`, `_secret`, `_prev_secret`, `_prev_expires`, `created_at`) also owns the
 * project's callback delivery log.
 */
export function createProjectSigningSecret(redis: RedisClient, k: Keys) {
  /** Creates the secret unless it exists; returns the hash, and whether this call created it. HSETNX makes racing creators agree. */
  async function ensureCreated(project: string): Promise<{ hash: Record<string, string>; created: boolean }> {
    const key = k.webhookSigningSecret(project)
    const existing = await redis.hgetall(key)
    if (existing._secret) return { hash: existing, created: false }
    const replies = await redis
      .multi()
      .hsetnx(key, '_project', project)
      .hsetnx(key, '_secret', generateSigningSecret())
      .hsetnx(key, 'created_at', String(nowSeconds()))
      .exec()
    const created = replies?.[1]?.[1] === 1
    if (created) await redis.incr(k.webhookVersion(project))
    return { hash: await redis.hgetall(key), created }
  }
  const ensure = async (project: string) => (await ensureCreated(project)).hash

  const toWire = (hash: Record<string, string>, reveal: boolean): WebhookSigningSecret => {
    const secret = hash._secret ?? ''
    const prevExpires = Number(hash._prev_expires ?? 0)
    return {
      object: 'webhook_signing_secret',
      ...(reveal ? { signing_secret: secret } : {}),
      signing_secret_hint: secretHint(secret),
      created_at: Number(hash.created_at ?? 0),
      previous_secret_expires_at: hash._prev_secret && prevExpires > nowSeconds() ? prevExpires : null,
    }
  }

  return {
    ensure,

    /**
     * The secret's hint, dates, and — only when this call created it — the secret itself, as
     * endpoint secrets are shown only on create and rotate. Lost it? Rotate (with
     * `keep_old_secret_active_for_24_hours` to switch receivers over without a gap).
     */
    async get(project: string): Promise<WebhookSigningSecret> {
      const { hash, created } = await ensureCreated(project)
      return toWire(hash, created)
    },

    /** Same semantics as an endpoint's rotate: the old secret stops at once unless asked to keep it 24 h. */
    async rotate(project: string, params: WebhookRotateSecretParams = {}): Promise<WebhookSigningSecret> {
      await ensure(project)
      const now = nowSeconds()
      const keepUntil = params.keep_old_secret_active_for_24_hours ? String(now + SECRET_GRACE_SECONDS) : ''
      const reply = await runScript<string[] | null>(redis, rotateSecretScript, [k.webhookSigningSecret(project)], [
        project,
        generateSigningSecret(),
        keepUntil,
        'created_at',
        String(now),
      ])
      if (!reply) throw new ApiError(500, 'The signing secret vanished during rotation.')
      await redis.incr(k.webhookVersion(project))
      const hash: Record<string, string> = {}
      for (let i = 0; i + 1 < reply.length; i += 2) hash[reply[i]!] = reply[i + 1]!
      return toWire(hash, true)
    },
  }
}
