/**
 * redis-server's time per top-level call, by process and script (issue 14: redis-server's CPU per
 * turn). SLOWLOG at 0 µs logs every top-level command with the microseconds Redis spent executing
 * it (the clock `INFO commandstats`' `usec` reads; an EVALSHA's time includes every command its
 * script ran, which Redis 7 logs as well, from Lua's client, just before the script's own entry),
 * its arguments (an EVALSHA's SHA1 names its script, as in trace.ts) and its client's address (the
 * process that sent it, as in trace.ts). Reading, parsing and replying are outside that time.
 * Compare medians (see `p50`): the clock also counts a preempted command's wait; even medians moved
 * ±40 % between runs at load 10-14 on 2 cores (callgrind instruction counts are steadier). A
 * script's own time (its µs less its commands') includes logging its commands to the slowlog (a
 * few µs each while measured). Only on a private redis-server (the bench's): it reconfigures the
 * slowlog while it measures, and puts it back after.
 */
import { Redis } from 'ioredis'
import { portOwners, scriptNames } from './trace.js'

export interface CallerTime {
  proc: string
  /** Script name for EVALSHA (`script <sha8>` if unknown), else the command (lower case). */
  caller: string
  calls: number
  /** Microseconds executing, summed (a script's including its commands'). */
  usec: number
  /** A script's commands: their calls and µs, summed; the rest of `usec` is the script's own (Lua, its arguments). */
  inner: { calls: number; usec: number }
  /**
   * Medians of a call's µs and of its script's commands' µs per call (lower median): a call the OS
   * preempted counts its wait too (SLOWLOG times by the clock), which moves the sums on a busy
   * machine but few of the calls, so medians are what to compare.
   */
  p50: { usec: number; inner: number }
}

/** One SLOWLOG entry as ioredis returns it: id, unix time, µs, args, client addr, client name. */
export type SlowlogEntry = [number, number, number, string[], string, string]

/** The address SLOWLOG gives a command a script ran (Lua's own client). */
const SCRIPT_CLIENT = '?:0'

/**
 * Sums entries by (process, caller); `owners` maps a client's local port to its process. Redis 7
 * logs the commands a script runs too, under {@link SCRIPT_CLIENT}, each just before the EVAL/EVALSHA
 * that ran them ends (one thread: nothing comes between): those are counted as that script's inner ones.
 */
export function timeByCaller(entries: SlowlogEntry[], owners: Map<number, string>, names: Map<string, string>): CallerTime[] {
  const groups = new Map<string, CallerTime>()
  const samples = new Map<CallerTime, { usec: number[]; inner: number[] }>()
  let inner = { calls: 0, usec: 0 }
  for (const [, , usec, args, addr] of [...entries].sort((a, b) => a[0] - b[0])) {
    if (addr === SCRIPT_CLIENT) {
      inner.calls++
      inner.usec += usec
      continue
    }
    const cmd = (args[0] ?? '').toLowerCase()
    const caller =
      cmd === 'evalsha' ? (names.get(args[1] ?? '') ?? `script ${(args[1] ?? '').slice(0, 8)}`) : cmd
    const proc = owners.get(Number(addr.split(':').at(-1))) ?? 'other'
    const k = `${proc}\t${caller}`
    const g = groups.get(k) ?? { proc, caller, calls: 0, usec: 0, inner: { calls: 0, usec: 0 }, p50: { usec: 0, inner: 0 } }
    const sample = samples.get(g) ?? { usec: [], inner: [] }
    const script = cmd === 'evalsha' || cmd === 'eval' || cmd === 'fcall'
    g.calls++
    g.usec += usec
    if (script) {
      g.inner.calls += inner.calls
      g.inner.usec += inner.usec
    }
    sample.usec.push(usec)
    sample.inner.push(script ? inner.usec : 0)
    inner = { calls: 0, usec: 0 }
    groups.set(k, g)
    samples.set(g, sample)
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? 0
  for (const [g, sample] of samples) g.p50 = { usec: median(sample.usec), inner: median(sample.inner) }
  return [...groups.values()].sort((a, b) => b.p50.usec * b.calls - a.p50.usec * a.calls)
}

/**
 * Logs every top-level command of the redis-server at `url` while `during` runs (plus `trailMs`
 * for the work it leaves behind), then sums their time by process (`pids`) and caller. The
 * measuring connection's own commands are left out.
 */
export async function measureCommandTime(url: string, pids: Record<string, number>, during: () => Promise<void>, trailMs = 300): Promise<CallerTime[]> {
  const admin = new Redis(url)
  try {
    const [, slower] = (await admin.config('GET', 'slowlog-log-slower-than')) as [string, string]
    const [, maxLen] = (await admin.config('GET', 'slowlog-max-len')) as [string, string]
    const redisPort = Number(new URL(url).port || 6379)
    // Connections are pooled and long-lived: those open now, and any opened during the load.
    const owners = portOwners(pids, redisPort)
    await admin.config('SET', 'slowlog-max-len', '1000000')
    await admin.config('SET', 'slowlog-log-slower-than', '0')
    await admin.slowlog('RESET')
    let entries: SlowlogEntry[]
    try {
      await during()
      await new Promise((r) => setTimeout(r, trailMs))
    } finally {
      await admin.config('SET', 'slowlog-log-slower-than', slower)
      entries = (await admin.slowlog('GET', -1)) as SlowlogEntry[]
      await admin.config('SET', 'slowlog-max-len', maxLen)
      await admin.slowlog('RESET')
    }
    for (const [port, proc] of portOwners(pids, redisPort)) owners.set(port, proc)
    const own = (admin as unknown as { stream: { localPort: number } }).stream.localPort
    return timeByCaller(
      entries.filter(([, , , , addr]) => Number(addr.split(':').at(-1)) !== own),
      owners,
      scriptNames(),
    )
  } finally {
    admin.disconnect()
  }
}

/** Prints µs per call and unit by process and caller, biggest first, with their total beside `cpuMsPerUnit` (redis-server's /proc CPU in the same window). */
export function printCommandTime(title: string, times: CallerTime[], units: number, cpuMsPerUnit: number): void {
  const total = times.reduce((s, t) => s + t.usec, 0)
  const p50Total = times.reduce((s, t) => s + t.p50.usec * t.calls, 0)
  console.log(`\n## ${title}\n`)
  console.log(
    ['process', 'caller (script or command)', 'calls/unit', 'p50 µs/call', 'p50 × calls µs/unit', "script's commands/call", 'their µs (p50)', "script's own µs (p50)", 'mean µs/call'].join('\t'),
  )
  for (const t of times) {
    if (t.usec / units < 0.05) continue
    const script = t.inner.calls > 0 ? [(t.inner.calls / t.calls).toFixed(1), String(t.p50.inner), String(t.p50.usec - t.p50.inner)] : ['', '', '']
    console.log(
      [t.proc, t.caller, (t.calls / units).toFixed(2), String(t.p50.usec), ((t.p50.usec * t.calls) / units).toFixed(1), ...script, (t.usec / t.calls).toFixed(1)].join('\t'),
    )
  }
  const byProc = new Map<string, number>()
  for (const t of times) byProc.set(t.proc, (byProc.get(t.proc) ?? 0) + t.usec)
  console.log(
    `\ntotal: ${(p50Total / units).toFixed(1)} µs/unit by medians, ${(total / units).toFixed(1)} µs/unit summed (${[...byProc].map(([p, u]) => `${p} ${(u / units).toFixed(1)}`).join(', ')}); ` +
      `redis-server's CPU from /proc in the same window: ${(cpuMsPerUnit * 1000).toFixed(0)} µs/unit (parsing, replies, the event loop and the slowlog itself besides)`,
  )
}
