import { isIP } from 'node:net'
import { forbiddenReason, isAllowedHostname, parseAllowList } from '@threadwork/egress'
import { type OutboxEvent, type WebhookEndpointSnapshot, type WebhookEndpointStore, activeSecrets } from '@threadwork/storage'

/** What a commit taking its callback here needs: the webhook version the commit checks, and the secrets to sign with. */
export interface DirectTake {
  version: string
  secrets: string[]
}

/**
 * Which commits may take their callback in this process (direct-callbacks.ts; worker README,
 * "Direct callbacks"): the project's endpoint snapshot (read when missing or older than
 * `maxAgeMs`, concurrent reads shared, dropped when the project's webhook version moved), no enabled
 * endpoint subscribed to one of the events, the project's callback secret made, and a URL this
 * process's SSRF guard would not refuse without a DNS answer.
 */
export function createDirectEligibility(deps: { endpoints: WebhookEndpointStore; allowPrivate: readonly string[]; maxAgeMs: number }) {
  const { endpoints, maxAgeMs } = deps
  const snapshots = new Map<string, { snapshot: WebhookEndpointSnapshot; at: number }>()
  const loading = new Map<string, Promise<WebhookEndpointSnapshot | null>>()
  /** When a commit not taken last made us look at its project's version (ms). */
  const versionLooked = new Map<string, number>()
  const allowed = parseAllowList(deps.allowPrivate)
  const reachable = new Map<string, boolean>()

  /** The project's snapshot, read when missing or older than `maxAgeMs` (concurrent reads shared); null if it cannot be read. */
  async function snapshotOf(project: string): Promise<WebhookEndpointSnapshot | null> {
    const hit = snapshots.get(project)
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.snapshot
    let load = loading.get(project)
    if (!load) {
      const at = Date.now()
      load = endpoints
        .snapshot(project)
        .then((snapshot) => {
          snapshots.set(project, { snapshot, at })
          if (snapshots.size > 10_000) for (const [p, v] of snapshots) if (Date.now() - v.at >= maxAgeMs) snapshots.delete(p)
          return snapshot
        })
        .catch(() => null)
        .finally(() => loading.delete(project))
      loading.set(project, load)
    }
    return load
  }

  return {
    /**
     * False when this process's SSRF guard would refuse the URL without a DNS answer (an address
     * literal, or `localhost`): left to the webhooks service, whose policy decides, as before (a worker
     * not given WEBHOOK_ALLOW_PRIVATE keeps today's path for local receivers). A name that resolves to
     * a refused address is found at connect: handed over then (`refused`).
     */
    mayReach(raw: string): boolean {
      let ok = reachable.get(raw)
      if (ok !== undefined) return ok
      try {
        const url = new URL(raw)
        const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
        const host = url.hostname.replace(/^\[|\]$/g, '')
        if (isIP(host)) ok = forbiddenReason(host, allowed, port) === null
        else ok = !/(^|\.)localhost\.?$/i.test(host) || isAllowedHostname(host, allowed, port)
      } catch {
        ok = false
      }
      if (reachable.size > 10_000) reachable.clear()
      reachable.set(raw, ok)
      return ok
    },

    /**
     * The version and secrets under which the commit's callback may be taken here, or null: an
     * enabled endpoint receives one of its events, the snapshot cannot be read, or the project has
     * no callback secret yet (the webhooks service creates it with the first attempt; the snapshot
     * is read again next time).
     */
    async take(project: string, events: readonly OutboxEvent[]): Promise<DirectTake | null> {
      const snapshot = await snapshotOf(project)
      if (!snapshot) return null
      if (!snapshot.callbackSecretFields) {
        snapshots.delete(project)
        return null
      }
      for (const ep of snapshot.endpoints) if (ep.enabled && events.some((e) => ep.eventTypes.includes(e.type))) return null
      return { version: snapshot.version, secrets: activeSecrets(snapshot.callbackSecretFields) }
    },

    /**
     * After a commit that did not take its callback: if the project's endpoints changed since
     * `version`, the next commit decides on a fresh snapshot. Looked at once a second per project at
     * most (most refusals are an earlier entry in the way, not a change).
     */
    async notTaken(project: string, version: string): Promise<void> {
      if (Date.now() - (versionLooked.get(project) ?? 0) < 1000) return
      versionLooked.set(project, Date.now())
      if (versionLooked.size > 10_000) versionLooked.clear()
      const [now] = await endpoints.versions([project]).catch(() => [version])
      if (now !== version) snapshots.delete(project)
    },
  }
}

export type DirectEligibility = ReturnType<typeof createDirectEligibility>
