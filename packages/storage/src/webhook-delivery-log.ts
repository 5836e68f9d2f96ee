import { ApiError, type ListPage, type ListQuery, WebhookDelivery, newId, nowSeconds } from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import recordDeliveryLua from './lua/recordDelivery-8.lua'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, script } from './scripts.js'
import type { ProjectSigningSecret } from './webhook-signing-secret.js'

const recordDeliveryScript = script('recordDelivery', recordDeliveryLua)

/**
 * Attempts kept per endpoint (and for the project's callbacks); older ones are dropped, every
 * `DELIVERIES_TRIM_EVERY`th record: a log holds between `DELIVERIES_KEPT` and
 * `DELIVERIES_KEPT + DELIVERIES_TRIM_EVERY - 1` attempts once full.
 */
export const DELIVERIES_KEPT = 1000
/** Why not every record: the trim is 3 commands (ZCARD, ZPOPMIN, DEL), a 64th of that per record (issue 14). */
export const DELIVERIES_TRIM_EVERY = 64

/** The delivery owner of callback_url attempts (an endpoint id otherwise). */
export const CALLBACK_OWNER = 'callback'

/** What `record`'s `settleDelivered` settles: a committer's own callback attempt's outbox entry and FIFO member (webhook-direct-attempt.ts). */
export interface DeliveredSettle {
  /** The shard's outbox stream key. */
  stream: string
  /** The (callback, thread) FIFO key. */
  fifo: string
  group: string
  entryId: string
  member: string
}

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
     * Appends an attempt and moves the owner's failure streak, in one script. With `opts`, the same
     * step also counts the attempt in the event record (`attempt` is then that count, 1-based per
     * event and owner, and `attempt.attempt` is ignored), stores the event itself first (an
     * attempt made straight from the outbox, whose body was not stored yet), and gives back the
     * attempt's in-flight slot (webhook-delivery-slots.ts), popping the project's longest-parked
     * job for the caller to wake. Returns null when the owner is gone (the endpoint was deleted):
     * the attempt is then not recorded, the slot still released.
     *
     * `opts.ownerExists`: the caller has just read the owner (a callback's project secret), so it
     * need not be ensured again.
     *
     * `opts.settleDelivered`: a delivered callback attempt its committer made itself is settled in
     * the same step (settleDirectAttempt-2.lua's delivered settle: its EVALSHA and round trip
     * fewer a turn, issue 14); `settled` then says how, as `WebhookDirectAttemptScripts.settle`
     * does. Single Redis only (the shard's keys beside the project's), as that path is.
     */
    async record(
      project: string,
      owner: string,
      attempt: Omit<WebhookDelivery, 'id' | 'object' | 'created_at' | 'attempt'> & { attempt?: number },
      streak: StreakEffect,
      opts: {
        countAttempt?: boolean
        saveEvent?: { event: StoredWebhookEvent; ttlSeconds: number }
        releaseSlot?: { target: string; member: string }
        ownerExists?: boolean
        settleDelivered?: DeliveredSettle
      } = {},
    ): Promise<{
      id: string
      attempt: number
      consecutiveFailures: number
      firstFailureAt: number | null
      woken: string | null
      settled?: { settled: boolean; head: string | null }
    } | null> {
      const id = newId('dlv')
      const delivery = { id, object: 'webhook_delivery', created_at: nowSeconds(), ...attempt }
      if (opts.countAttempt) delete delivery.attempt
      if (owner === CALLBACK_OWNER && !opts.ownerExists) await signingSecret.ensure(project)
      const e = opts.saveEvent?.event
      const eventFields = e ? ['body', e.body, 'type', e.type, 'thread', e.thread ?? '', 'callback_url', e.callbackUrl ?? ''] : []
      const slot = opts.releaseSlot
      const settle = opts.settleDelivered
      const reply = await runScript<[number, number, number, string, [number, string] | []] | null>(
        redis,
        recordDeliveryScript,
        [
          ownerKey(project, owner),
          k.webhookDeliveries(project, owner),
          k.webhookDelivery(project, id),
          k.webhookEvent(project, attempt.event_id),
          k.webhookInflight(project),
          k.webhookInflightTarget(project, slot?.target ?? owner),
          k.webhookParked(project),
          k.webhookParkedTarget(project, slot?.target ?? owner),
        ],
        [
          project,
          id,
          `${DELIVERIES_KEPT}:${DELIVERIES_TRIM_EVERY}`,
          k.webhookDeliveryPrefix(project),
          streak,
          Date.now(),
          opts.countAttempt ? `_attempts:${owner}` : '',
          opts.saveEvent?.ttlSeconds ?? 0,
          slot?.member ?? '',
          settle ? JSON.stringify([settle.stream, settle.fifo, settle.group, settle.entryId, settle.member]) : '',
          eventFields.length / 2,
          ...eventFields,
          owner === CALLBACK_OWNER && opts.ownerExists ? '1' : '0',
          ...encodeFields(delivery),
        ],
      )
      if (!reply) return null
      return {
        id,
        attempt: Number(reply[2]) || (attempt.attempt ?? 0),
        consecutiveFailures: Number(reply[0]),
        firstFailureAt: Number(reply[1]) || null,
        woken: reply[3] ? String(reply[3]) : null,
        ...(settle && reply[4]?.length ? { settled: { settled: Number(reply[4][0]) === 1, head: reply[4][1] ? String(reply[4][1]) : null } } : {}),
      }
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
  }
}
