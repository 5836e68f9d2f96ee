import type { WebhookEndpointSnapshot, WebhookEndpointStore } from '@threadwork/storage'

/**
 * The projects' endpoints (and callback secret) as the outbox consumer needs them, read once and
 * kept while the project's webhook version (bumped by every endpoint or secret write) stays the
 * same: per batch one GET per project instead of a ZRANGE (and an HMGET per endpoint) per entry
 * plus a secret read per attempt (issue 14, lever 4). A snapshot older than `maxAgeMs` is read
 * again anyway: a writer that died between its write and its bump stays stale that long at most.
 */
export function createEndpointCache(endpoints: WebhookEndpointStore, maxAgeMs = 10_000) {
  const cache = new Map<string, { snapshot: WebhookEndpointSnapshot; at: number }>()
  async function versionsOf(projects: string[], known: ReadonlyMap<string, string> | undefined): Promise<string[]> {
    if (!known) return endpoints.versions(projects)
    const unknown = projects.filter((p) => !known.has(p))
    const read = unknown.length === 0 ? [] : await endpoints.versions(unknown)
    return projects.map((p) => known.get(p) ?? read[unknown.indexOf(p)]!)
  }
  return {
    /**
     * Snapshots of `projects`, current as of this call; `known`: versions read since the batch's
     * entries were (outbox-consumer.ts, the check sent behind the read), not read again.
     */
    async forBatch(projects: Iterable<string>, known?: ReadonlyMap<string, string>): Promise<Map<string, WebhookEndpointSnapshot>> {
      const wanted = [...new Set(projects)]
      const versions = await versionsOf(wanted, known)
      const now = Date.now()
      const out = new Map<string, WebhookEndpointSnapshot>()
      await Promise.all(
        wanted.map(async (project, i) => {
          const hit = cache.get(project)
          if (hit && hit.snapshot.version === versions[i] && now - hit.at < maxAgeMs) {
            out.set(project, hit.snapshot)
            return
          }
          const snapshot = await endpoints.snapshot(project)
          cache.set(project, { snapshot, at: now })
          out.set(project, snapshot)
        }),
      )
      // Bounded: projects seen lately only.
      if (cache.size > 10_000) for (const [p, v] of cache) if (now - v.at >= maxAgeMs) cache.delete(p)
      return out
    },
  }
}
