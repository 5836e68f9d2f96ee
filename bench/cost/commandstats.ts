/**
 * Redis command counts from `INFO commandstats` (every client's commands, and every command a Lua
 * script runs counted under its own name besides the EVALSHA that ran it). Deltas of two reads
 * give a window's commands; the reads' own INFO calls are taken out.
 */
import type { Redis } from 'ioredis'

/** Calls per command name (lower case, e.g. `evalsha`, `hset`, `xadd`). */
export type CommandCounts = Map<string, number>

/** Reads `INFO commandstats`; counts one INFO of its own, which {@link commandDelta} removes. */
export async function readCommandStats(redis: Redis): Promise<CommandCounts> {
  const text = await redis.info('commandstats')
  const counts: CommandCounts = new Map()
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(m[1]!, Number(m[2]))
  return counts
}

/**
 * `after − before` per command, dropping zeros. `ownCalls` are commands the measuring side sent
 * itself between the two reads (e.g. `{xread: 12}`). INFO counts itself only after it answered,
 * so the `before` read shows up in `after`: one `info` is always taken out.
 */
export function commandDelta(before: CommandCounts, after: CommandCounts, ownCalls: Record<string, number> = {}): CommandCounts {
  const own: Record<string, number> = { ...ownCalls, info: (ownCalls.info ?? 0) + 1 }
  const out: CommandCounts = new Map()
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0) - (own[name] ?? 0)
    if (d > 0) out.set(name, d)
  }
  return out
}

export const totalCommands = (counts: CommandCounts): number => [...counts.values()].reduce((s, n) => s + n, 0)

/** The `n` most called commands as `name count/unit` text, e.g. `evalsha 12.0, hget 9.5`. */
export function topCommands(counts: CommandCounts, per: number, n = 6): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, calls]) => `${name} ${(calls / per).toFixed(1)}`)
    .join(', ')
}
