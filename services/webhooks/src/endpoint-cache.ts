import type { WebhookEndpointSnapshot, WebhookEndpointStore } from '@threadwork/storage'

/**
 * The projects' endpoints (and callback secret) as the outbox consumer needs them, read once and
 * kept while the project's webhook version (bumped by every endpoint or secret write) stays the
 * same: per batch one GET per project instead of a ZRANGE (and an HMGET per endpoint) per entry
 * plus a secret read per attempt (issue 14, lever 4). A snapshot older than `maxAgeMs` is read
 * again anyway: a writer that died between its write and its bump stays stale that long at most.
 * One used at more than half that age is read again in the background, for the next batches.
 */
export function createEndpointCache(endpoints: WebhookEndpointStore, maxAgeMs = 10_000) {
  const cache = new Map<string, { snapshot: WebhookEndpointSnapshot; at: number }>()
  async function versionsOf(projects: string[], known: ReadonlyMap<string, string> | undefined): Promise<string[]> {
    if (!known) return endpoints.versions(projects)
    const unknown = projects.filter((p) => !known.has(p))
    const read = unknown.length === 0 ? [] : await endpoints.versions(unknown)
    return projects.map((p) => known.get(p) ?? read[unknown.indexOf(p)]!)
  }
  const refreshing = new Set<string>()
  /** Reads `project`'s snapshot again in the background; it replaces the cached one unless a newer read did. */
  function refreshAhead(project: string): void {
    if (refreshing.has(project)) return
    refreshing.add(project)
    const at = Date.now()
    endpoints
      .snapshot(project)
      .then((snapshot) => {
        if ((cache.get(project)?.at ?? 0) <= at) cache.set(project, { snapshot, at })
      })
      // Not replaced: the snapshot ages out and the batch that finds it old reads it itself.
      .catch(() => undefined)
      .finally(() => refreshing.delete(project))
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
            // Half its age gone: read again beside the batch, so a project with traffic never waits
            // for it (the re-read at 10 s was two round trips before one batch's first attempts).
            if (now - hit.at >= maxAgeMs / 2) refreshAhead(project)
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
