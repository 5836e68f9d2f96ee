/**
 * CPU time of a process read from outside (`/proc/<pid>/stat`: utime + stime, every thread of the
 * process, in clock ticks), so a service needs no change to be measured. Linux only.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we run on). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Resolution of {@link cpuMs}, milliseconds (10 ms at 100 ticks/s). */
export const CPU_TICK_MS = 1000 / TICKS_PER_SECOND

/**
 * User + system CPU milliseconds `pid` has used since it started; NaN once it is gone.
 * The command name (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
 */
export function cpuMs(pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return Number.NaN
  }
  // After ") ": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
}

/** CPU milliseconds of each named process, read at once. */
export type CpuSnapshot = Record<string, number>

export const cpuSnapshot = (pids: Record<string, number>): CpuSnapshot => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]))

/** `after − before` per process name. */
export const cpuDelta = (before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot =>
  Object.fromEntries(Object.keys(after).map((name) => [name, after[name]! - (before[name] ?? Number.NaN)]))
