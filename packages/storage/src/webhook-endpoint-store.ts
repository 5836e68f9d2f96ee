import {
  ApiError,
  type DeletedWebhookEndpoint,
  type ListPage,
  type ListQuery,
  SECRET_GRACE_SECONDS,
  type WebhookCreateParams,
  WebhookEndpoint,
  type WebhookEndpointTestResult,
  type WebhookEndpointWithSecret,
  type WebhookEventType,
  type WebhookRotateSecretParams,
  type WebhookUpdateParams,
  generateSigningSecret,
  newId,
  nowSeconds,
  secretHint,
} from '@threadwork/domain'
import { decodeFields, encodeFields, flatFields } from './codec.js'
import type { Keys } from './keys.js'
import deleteWebhookEndpointLua from './lua/deleteWebhookEndpoint-3.lua'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, script, scripts } from './scripts.js'
import { createWebhookDeliveryLog } from './webhook-delivery-log.js'
import { createProjectSigningSecret, rotateSecretScript } from './webhook-signing-secret.js'

const deleteEndpointScript = script('deleteWebhookEndpoint', deleteWebhookEndpointLua)

export type WebhookEndpointStore = ReturnType<typeof createWebhookEndpointStore>

/** A project's endpoints and callback secret as the dispatcher reads them (`snapshot`), under a version. */
export interface WebhookEndpointSnapshot {
  /** The project's webhook version when read ('' before any write). */
  version: string
  endpoints: { id: string; enabled: boolean; eventTypes: string[]; url: string; pausedUntilS: number | null; secretFields: Record<string, string> }[]
  /** The callback secret's hash fields (`_secret`, `_prev_secret`, `_prev_expires`), or null before it exists. */
  callbackSecretFields: Record<string, string> | null
}

/**
 * Webhook endpoints of a project (`{p:<project>}` keys; another project's id is simply not there),
 * their secrets, and the requests the API hands to the dispatcher (test sends, redeliveries).
 *
 * Secrets live in internal `_secret` / `_prev_secret` fields that `decodeFields` never returns;
 * only `create` and `rotateSecret` put the new secret in their answer.
 */
export function createWebhookEndpointStore(redis: RedisClient, k: Keys) {
  const notFound = (id: string) => ApiError.notFound('webhook endpoint', id)
  const signingSecret = createProjectSigningSecret(redis, k)
  const deliveries = createWebhookDeliveryLog(redis, k, signingSecret)

  async function read(project: string, id: string): Promise<string[] | null> {
    const key = k.webhookEndpoint(project, id)
    return runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project])
  }

  async function update(project: string, id: string, fields: Record<string, unknown>, raw: (string | number)[] = []): Promise<WebhookEndpoint> {
    const key = k.webhookEndpoint(project, id)
    const reply = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project, ...encodeFields(fields), ...raw])
    if (!reply) throw notFound(id)
    await bump(project)
    return WebhookEndpoint.parse(decodeFields(reply))
  }

  /** After every write the dispatcher must see: its cached snapshot of the project is stale. */
  const bump = (project: string) => redis.incr(k.webhookVersion(project))

  const secretFieldsOf = (hash: Record<string, string>) => {
    const out: Record<string, string> = {}
    for (const f of ['_secret', '_prev_secret', '_prev_expires']) if (hash[f] !== undefined) out[f] = hash[f]!
    return out
  }

  /** Sends a request to the dispatcher over the control stream and nudges it. */
  async function control(fields: Record<string, string>): Promise<void> {
    await redis.xadd(k.webhookControl, '*', ...flatFields(fields))
    await redis.publish(k.outboxChannel, 'control')
  }

  return {
    /** The delivery log (attempts), the events kept for redelivery, test results. */
    deliveries,
    /** The project's secret for turn callback_urls. */
    signingSecret,

    /**
     * @param maxPerProject `WEBHOOK_MAX_ENDPOINTS_PER_PROJECT`: a project at the cap gets a 400
     *   (checked before the insert, so concurrent creates may pass it by a few).
     */
    async create(project: string, params: WebhookCreateParams, maxPerProject = Number.POSITIVE_INFINITY): Promise<WebhookEndpointWithSecret> {
      if (Number.isFinite(maxPerProject) && (await redis.zcard(k.webhookEndpoints(project))) >= maxPerProject) {
        throw new ApiError(
          400,
          `This project already has ${maxPerProject} webhook endpoints, the most allowed (WEBHOOK_MAX_ENDPOINTS_PER_PROJECT). Delete one first.`,
          { code: 'webhook_endpoint_limit_reached' },
        )
      }
      const secret = generateSigningSecret()
      const now = nowSeconds()
      const endpoint: WebhookEndpoint = {
        id: newId('whe'),
        object: 'webhook_endpoint',
        created_at: now,
        updated_at: now,
        name: params.name,
        url: params.url,
        event_types: params.event_types,
        signing_secret_hint: secretHint(secret),
        status: 'enabled',
        disabled_reason: null,
        disabled_at: null,
        paused_until: null,
        paused_reason: null,
      }
      await runScript(redis, scripts.insertObject, [k.webhookEndpoint(project, endpoint.id), k.webhookEndpoints(project), k.projectMeta(project)], [
        endpoint.id,
        project,
        ...encodeFields(endpoint),
        '_secret',
        secret,
      ])
      await bump(project)
      return { ...endpoint, signing_secret: secret }
    },

    async get(project: string, id: string): Promise<WebhookEndpoint> {
      const reply = await read(project, id)
      if (!reply) throw notFound(id)
      return WebhookEndpoint.parse(decodeFields(reply))
    },

    async update(project: string, id: string, params: WebhookUpdateParams): Promise<WebhookEndpoint> {
      const current = await this.get(project, id)
      const changes: Record<string, unknown> = {}
      const raw: (string | number)[] = []
      if (params.name !== undefined && params.name !== current.name) changes.name = params.name
      if (params.url !== undefined && params.url !== current.url) changes.url = params.url
      if (params.event_types !== undefined && !sameSet(params.event_types, current.event_types)) changes.event_types = params.event_types
      if (params.status === 'enabled' && current.status !== 'enabled') {
        Object.assign(changes, { status: 'enabled', disabled_reason: null, disabled_at: null, paused_until: null, paused_reason: null })
        // A re-enabled endpoint starts a fresh failure streak.
        raw.push('_fail_count', 0, '_fail_since', 0)
      } else if (params.status === 'disabled' && current.status !== 'disabled') {
        Object.assign(changes, { status: 'disabled', disabled_reason: 'Disabled by request.', disabled_at: nowSeconds() })
      }
      // OpenAI: an unchanged update does not advance updated_at.
      if (Object.keys(changes).length === 0) return current
      changes.updated_at = nowSeconds()
      return update(project, id, changes, raw)
    },

    async delete(project: string, id: string): Promise<DeletedWebhookEndpoint> {
      const removed = await runScript<number>(
        redis,
        deleteEndpointScript,
        [k.webhookEndpoints(project), k.webhookEndpoint(project, id), k.webhookDeliveries(project, id)],
        [project, id, k.webhookDeliveryPrefix(project)],
      )
      if (!removed) throw notFound(id)
      await bump(project)
      return { id, object: 'webhook_endpoint.deleted', deleted: true }
    },

    /** Newest first by default, as OpenAI's list. */
    list(project: string, query: ListQuery): Promise<ListPage<WebhookEndpoint>> {
      return listPage(
        redis,
        {
          ownerKey: k.projectMeta(project),
          indexKey: k.webhookEndpoints(project),
          objectPrefix: k.webhookEndpointPrefix(project),
          // The index key is already project-scoped; a project with no endpoints lists empty.
          project: '',
          parse: (raw) => WebhookEndpoint.parse(raw),
          notFound: () => new ApiError(500, 'unreachable'),
        },
        query,
      )
    },

    /**
     * A new secret. With `keep_old_secret_active_for_24_hours` the old one keeps signing (a second
     * `v1,` signature on every delivery) for 24 h; otherwise it stops at once (OpenAI's default).
     */
    async rotateSecret(project: string, id: string, params: WebhookRotateSecretParams = {}): Promise<WebhookEndpointWithSecret> {
      const secret = generateSigningSecret()
      const now = nowSeconds()
      const keepUntil = params.keep_old_secret_active_for_24_hours ? String(now + SECRET_GRACE_SECONDS) : ''
      const reply = await runScript<string[] | null>(redis, rotateSecretScript, [k.webhookEndpoint(project, id)], [
        project,
        secret,
        keepUntil,
        ...encodeFields({ signing_secret_hint: secretHint(secret), updated_at: now }),
      ])
      if (!reply) throw notFound(id)
      await bump(project)
      return { ...WebhookEndpoint.parse(decodeFields(reply)), signing_secret: secret }
    },

    /**
     * Queues one sample event for the dispatcher (no retries, no effect on the endpoint's status)
     * and answers at once: the attempt, with the receiver's status, lands in the endpoint's
     * delivery log (`trigger: 'test'`, this `event_id`). A busy or absent dispatcher delays the
     * attempt; it never holds up the request.
     */
    async test(project: string, id: string, eventType: WebhookEventType): Promise<WebhookEndpointTestResult> {
      await this.get(project, id)
      const evt = newId('evt')
      await control({
        kind: 'test',
        project,
        endpoint: id,
        evt,
        type: eventType,
        created_at: String(nowSeconds()),
        data: JSON.stringify(sampleData(eventType)),
      })
      return { object: 'webhook_endpoint.test', event_type: eventType, webhook_endpoint_id: id, success: true, status_code: null, status: 'queued', event_id: evt }
    },

    /**
     * Schedules a new send of a logged delivery's event to the same target (same body, same
     * `webhook-id`), with the normal retry schedule. `owner` is the endpoint id, or 'callback'.
     */
    async redeliver(project: string, owner: string, deliveryId: string) {
      const delivery = await deliveries.get(project, owner, deliveryId)
      if (owner !== 'callback') {
        const endpoint = await this.get(project, owner)
        if (endpoint.status !== 'enabled') {
          throw new ApiError(400, `Webhook endpoint '${owner}' is disabled; enable it before retrying deliveries.`, { code: 'endpoint_disabled' })
        }
      }
      if (!(await redis.exists(k.webhookEvent(project, delivery.event_id)))) {
        throw new ApiError(400, `Event '${delivery.event_id}' is no longer retained, so it cannot be delivered again.`, { code: 'event_expired' })
      }
      await control({ kind: 'redeliver', project, target: owner, evt: delivery.event_id, delivery: deliveryId })
      return {
        object: 'webhook_delivery.retry' as const,
        delivery_id: deliveryId,
        webhook_endpoint_id: delivery.webhook_endpoint_id,
        event_id: delivery.event_id,
        status: 'scheduled' as const,
      }
    },

    // ---- used by the dispatcher -------------------------------------------------------------

    /** Ids of the project's enabled endpoints subscribed to `type`. */
    async subscribers(project: string, type: string): Promise<string[]> {
      const ids = await redis.zrange(k.webhookEndpoints(project), 0, -1)
      if (ids.length === 0) return []
      const pipeline = redis.pipeline()
      for (const id of ids) pipeline.hmget(k.webhookEndpoint(project, id), 'status', 'event_types')
      const rows = (await pipeline.exec()) ?? []
      return ids.filter((_, i) => {
        const [err, row] = rows[i] ?? []
        const [status, types] = (err ? [] : row) as (string | null)[]
        return status === '"enabled"' && types != null && (JSON.parse(types) as string[]).includes(type)
      })
    },

    /**
     * The webhook versions of `projects` ('' where none was written yet), in one round trip: GETs
     * issued together leave in one write (the dispatcher's connection coalesces them). Not a
     * pipeline: for the usual one project per batch, its object, queue and reply array cost more
     * than the GET (issue 14, the dispatcher's every batch).
     */
    async versions(projects: readonly string[]): Promise<string[]> {
      return Promise.all(projects.map((p) => redis.get(k.webhookVersion(p)).then((v) => v ?? '')))
    },

    /**
     * The project's endpoints (status, event types, URL, pause, secrets) and callback secret, read
     * after its version: a write that lands meanwhile bumps the version past the one returned, so
     * a cache keyed on it re-reads.
     */
    async snapshot(project: string): Promise<WebhookEndpointSnapshot> {
      const [version, ids] = await Promise.all([redis.get(k.webhookVersion(project)), redis.zrange(k.webhookEndpoints(project), 0, -1)])
      const pipeline = redis.pipeline()
      for (const id of ids) pipeline.hgetall(k.webhookEndpoint(project, id))
      pipeline.hgetall(k.webhookSigningSecret(project))
      const rows = ((await pipeline.exec()) ?? []).map(([err, row]) => (err ? {} : (row as Record<string, string>)))
      const endpoints: WebhookEndpointSnapshot['endpoints'] = []
      ids.forEach((id, i) => {
        const hash = rows[i] ?? {}
        if (hash._project !== project || !hash._secret) return
        const e = WebhookEndpoint.parse(decodeFields(hash))
        endpoints.push({ id, enabled: e.status === 'enabled', eventTypes: e.event_types, url: e.url, pausedUntilS: e.paused_until ?? null, secretFields: secretFieldsOf(hash) })
      })
      const callback = rows[ids.length] ?? {}
      return { version: version ?? '', endpoints, callbackSecretFields: callback._secret ? secretFieldsOf(callback) : null }
    },

    /** An endpoint and the secrets to sign with (current first, then one still in its grace period), or null if gone. */
    async target(project: string, id: string): Promise<{ endpoint: WebhookEndpoint; secrets: string[] } | null> {
      const reply = await redis.hgetall(k.webhookEndpoint(project, id))
      if (reply._project !== project || !reply._secret) return null
      return { endpoint: WebhookEndpoint.parse(decodeFields(reply)), secrets: activeSecrets(reply) }
    },

    /**
     * Pauses delivery to an endpoint until `untilS` (Unix seconds), or lifts the pause (`null`).
     * Not a configuration change: `updated_at` stays. A no-op if the endpoint is gone.
     */
    async setPause(project: string, id: string, untilS: number | null, reason: string | null): Promise<void> {
      await update(project, id, { paused_until: untilS, paused_reason: reason }).catch(() => undefined)
    },

    /** Disables an enabled endpoint with a reason; a no-op if it is gone or already disabled. */
    async disable(project: string, id: string, reason: string): Promise<void> {
      const current = await this.get(project, id).catch(() => null)
      if (!current || current.status === 'disabled') return
      await update(project, id, { status: 'disabled', disabled_reason: reason, disabled_at: nowSeconds() }).catch(() => undefined)
    },
  }
}

/** The current secret, then the previous one while its grace period runs. */
export function activeSecrets(hash: Record<string, string>, nowS = nowSeconds()): string[] {
  const out = hash._secret ? [hash._secret] : []
  if (hash._prev_secret && Number(hash._prev_expires ?? 0) > nowS) out.push(hash._prev_secret)
  return out
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x))

/** Thin sample data, like OpenAI's own events (`data: {id}`), marked as a test. */
function sampleData(type: WebhookEventType): Record<string, unknown> {
  const prefix = type.startsWith('thread.run.') ? 'run' : type.startsWith('thread.message.') ? 'msg' : 'turn'
  return { id: `${prefix}_test`, test: true }
}
