import { ApiError, type ListPage, type ListQuery, WebhookDelivery, newId, nowSeconds } from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import recordDeliveryLua from './lua/recordDelivery-3.lua'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, script } from './scripts.js'
import type { ProjectSigningSecret } from './webhook-signing-secret.js'

const recordDeliveryScript = script('recordDelivery', recordDeliveryLua)

/** Attempts kept per endpoint (and for the project's callbacks); older ones are dropped. */
export const DELIVERIES_KEPT = 1000

/** The delivery owner of callback_url attempts (an endpoint id otherwise). */
export const CALLBACK_OWNER = 'callback'

/** An event as the dispatcher keeps it for retries and manual redelivery. */
export interface StoredWebhookEvent {
  /** The exact bytes every attempt sends. */
  body: string
  type: string
  thread: string | null
  callbackUrl: string | null
}

/** How an attempt moves the owner's failure streak. */
export type StreakEffect = 'success' | 'failure' | 'none'

export type WebhookDeliveryLog = ReturnType<typeof createWebhookDeliveryLog>

/**
 * Delivery attempts (one record per HTTP POST), per endpoint or for the project's callbacks, plus
 * the event bodies the dispatcher sends. All keys carry the project's `{p:<project>}` tag.
 */
export function createWebhookDeliveryLog(redis: RedisClient, k: Keys, signingSecret: ProjectSigningSecret) {
  const ownerKey = (project: string, owner: string) =>
    owner === CALLBACK_OWNER ? k.webhookSigningSecret(project) : k.webhookEndpoint(project, owner)
  const notFound = (owner: string, id: string) =>
    owner === CALLBACK_OWNER ? ApiError.notFound('callback delivery', id) : ApiError.notFound('webhook endpoint', owner)

  return {
    /**
     * Appends an attempt and moves the owner's failure streak. Returns the streak, or null when
     * the owner is gone (the endpoint was deleted): the attempt is then not recorded.
     */
    async record(
      project: string,
      owner: string,
      attempt: Omit<WebhookDelivery, 'id' | 'object' | 'created_at'>,
      streak: StreakEffect,
    ): Promise<{ id: string; consecutiveFailures: number; firstFailureAt: number | null } | null> {
      const id = newId('dlv')
      const delivery: WebhookDelivery = { id, object: 'webhook_delivery', created_at: nowSeconds(), ...attempt }
      if (owner === CALLBACK_OWNER) await signingSecret.ensure(project)
      const reply = await runScript<[number, number] | null>(
        redis,
        recordDeliveryScript,
        [ownerKey(project, owner), k.webhookDeliveries(project, owner), k.webhookDelivery(project, id)],
        [project, id, DELIVERIES_KEPT, k.webhookDeliveryPrefix(project), streak, Date.now(), ...encodeFields(delivery)],
      )
      if (!reply) return null
      return { id, consecutiveFailures: Number(reply[0]), firstFailureAt: Number(reply[1]) || null }
    },

    /** Newest first by default. */
    async list(project: string, owner: string, query: ListQuery): Promise<ListPage<WebhookDelivery>> {
      if (owner === CALLBACK_OWNER) await signingSecret.ensure(project)
      return listPage(
        redis,
        {
          ownerKey: ownerKey(project, owner),
          indexKey: k.webhookDeliveries(project, owner),
          objectPrefix: k.webhookDeliveryPrefix(project),
          project,
          parse: (raw) => WebhookDelivery.parse(raw),
          notFound: () => ApiError.notFound('webhook endpoint', owner),
        },
        query,
      )
    },

    async get(project: string, owner: string, id: string): Promise<WebhookDelivery> {
      const hash = await redis.hgetall(k.webhookDelivery(project, id))
      if (hash._project !== project || hash._owner !== ownerKey(project, owner)) {
        if (owner !== CALLBACK_OWNER && !(await redis.exists(k.webhookEndpoint(project, owner)))) throw notFound(owner, id)
        throw ApiError.notFound('webhook delivery', id)
      }
      return WebhookDelivery.parse(decodeFields(hash))
    },

    /** Keeps an event's body for its retries and for manual redelivery, for `ttlSeconds`. */
    async saveEvent(project: string, evt: string, event: StoredWebhookEvent, ttlSeconds: number): Promise<void> {
      const key = k.webhookEvent(project, evt)
      await redis
        .multi()
        .hset(key, 'body', event.body, 'type', event.type, 'thread', event.thread ?? '', 'callback_url', event.callbackUrl ?? '')
        .expire(key, ttlSeconds)
        .exec()
    },

    async getEvent(project: string, evt: string): Promise<StoredWebhookEvent | null> {
      const hash = await redis.hgetall(k.webhookEvent(project, evt))
      if (hash.body === undefined || hash.type === undefined) return null
      return { body: hash.body, type: hash.type, thread: hash.thread || null, callbackUrl: hash.callback_url || null }
    },

    /** The next attempt number of `evt` at `owner`, counted across every job that sends it. */
    async nextAttemptNumber(project: string, evt: string, owner: string): Promise<number> {
      const key = k.webhookEvent(project, evt)
      // EXPIRE NX (Redis 7): should the record have expired just now, HINCRBY must not leave a key without a TTL.
      const replies = await redis.multi().hincrby(key, `_attempts:${owner}`, 1).expire(key, 86_400, 'NX').exec()
      return Number(replies?.[0]?.[1] ?? 1)
    },

  }
}
