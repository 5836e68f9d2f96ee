/**
 * One measured window of the cost bench: CPU of each process (from /proc), Redis commands
 * (INFO commandstats) and BullMQ job events, from just before a load is driven until the system
 * is quiet again after it, divided by the units the load completed.
 */
import type { Redis } from 'ioredis'
import { type CommandCounts, commandDelta, readCommandStats, totalCommands } from './commandstats.js'
import { type JobEventCounts, followJobEvents } from './job-events.js'
import { type CpuSnapshot, cpuDelta, cpuSnapshot } from './proc-cpu.js'

export interface WindowContext {
  /** A connection for INFO reads. */
  stats: Redis
  /** A connection of its own for the job-event reader (XREAD BLOCK). */
  events: Redis
  prefix: string
  queues: string[]
  /** process label → pid, read from /proc. */
  pids: Record<string, number>
  /** Commands per second with nothing driven (background polling), to know when a load has settled. */
  idleCommandsPerSecond: number
}

export interface WindowResult {
  units: number
  wallMs: number
  /** CPU ms per process over the window (whole, not per unit). */
  cpu: CpuSnapshot
  commands: CommandCounts
  jobs: JobEventCounts
  /** Milliseconds waited after the load for the trailing work (deliveries' bookkeeping, acks). */
  settleMs: number
}

/**
 * Waits until a quarter second passes with no more commands than background polling makes (at
 * most 5 s): the work a load leaves behind (job completions, acknowledgements) belongs to it.
 * Returns its INFO calls.
 */
export async function settle(ctx: Pick<WindowContext, 'stats' | 'idleCommandsPerSecond'>): Promise<{ infoCalls: number; settleMs: number }> {
  const t0 = performance.now()
  const quiet = Math.max(20, ctx.idleCommandsPerSecond * 0.25 * 2)
  let last = totalCommands(await readCommandStats(ctx.stats))
  let infoCalls = 1
  while (performance.now() - t0 < 5000) {
    await new Promise((r) => setTimeout(r, 250))
    const now = totalCommands(await readCommandStats(ctx.stats))
    infoCalls++
    // Each INFO read plus the event reader's XREADs count too: allow for them.
    if (now - last <= quiet + 10) break
    last = now
  }
  return { infoCalls, settleMs: performance.now() - t0 }
}

/** Drives `load` (which resolves with the units it completed) inside a measured window. */
export async function measureWindow(ctx: WindowContext, load: () => Promise<number>, extraPids: Record<string, number> = {}): Promise<WindowResult> {
  const pids = { ...ctx.pids, ...extraPids }
  const follower = await followJobEvents(ctx.events, ctx.prefix, ctx.queues)
  const cmd0 = await readCommandStats(ctx.stats)
  const cpu0 = cpuSnapshot(pids)
  const t0 = performance.now()
  const units = await load()
  const wallMs = performance.now() - t0
  const { infoCalls, settleMs } = await settle(ctx)
  const cpu1 = cpuSnapshot(pids)
  const cmd1 = await readCommandStats(ctx.stats)
  const jobs = await follower.stop()
  // The XREADs the reader issued between the two reads: all but those after cmd1 (at most one in flight).
  const commands = commandDelta(cmd0, cmd1, { info: infoCalls, xread: Math.max(0, (jobs.ownCalls.xread ?? 0) - 1) })
  return { units, wallMs, cpu: cpuDelta(cpu0, cpu1), commands, jobs, settleMs }
}

/** Once what ran before has settled, measures `seconds` of nothing driven: background commands per second. */
export async function idleRate(stats: Redis, seconds = 1): Promise<number> {
  await settle({ stats, idleCommandsPerSecond: 40 })
  const before = await readCommandStats(stats)
  await new Promise((r) => setTimeout(r, seconds * 1000))
  return totalCommands(commandDelta(before, await readCommandStats(stats))) / seconds
}
