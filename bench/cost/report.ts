/** Prints the cost bench's table: per completed unit, each process's CPU, Redis commands and BullMQ jobs. */
import { loadavg } from 'node:os'
import { topCommands, totalCommands } from './commandstats.js'
import type { WindowResult } from './window.js'

export interface CostRow {
  label: string
  /** The process in the "front" column: the API, or the baseline's producer. */
  front: 'api' | 'producer'
  window: WindowResult
  /** The turn skeleton (skeleton-turn.ts): the floor the turn row is compared with. */
  skeleton?: true
}

const f = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '-')

/** Per-unit CPU of each column's process, total, commands and jobs. */
function perUnit(r: CostRow) {
  const w = r.window
  const cpu = (name: string) => (w.cpu[name] ?? Number.NaN) / w.units
  // Several worker processes (BENCH_WORKERS): `worker`, `worker 2`, … summed.
  const workers = Object.keys(w.cpu).filter((name) => /^worker( \d+)?$/.test(name))
  const worker = r.front === 'api' ? workers.reduce((sum, name) => sum + cpu(name), 0) : cpu('noop worker')
  const webhooks = r.front === 'api' ? cpu('webhooks') : 0
  const front = cpu(r.front)
  const redis = cpu('redis-server')
  const jobs = [...w.jobs.byQueue.values()].reduce((s, t) => s + (t.get('added') ?? 0), 0) / w.units
  return { front, worker, webhooks, redis, total: front + worker + webhooks + redis, commands: totalCommands(w.commands) / w.units, jobs, perSecond: w.units / (w.wallMs / 1000) }
}

export function printCostTable(opts: { scale: number; cpuTickMs: number; idleCommandsPerSecond: number; rows: CostRow[]; callbackFailures: number }): void {
  const header = ['per completed unit', 'n', 'api/producer ms', 'worker ms', 'webhooks ms', 'redis-server ms', 'CPU total ms', 'Redis cmds', 'BullMQ jobs', 'units/s']
  const computed = opts.rows.map((r) => ({ r, u: perUnit(r) }))
  const rows = [
    header,
    ...computed.map(({ r, u }) => [r.label, String(r.window.units), f(u.front), f(u.worker), r.front === 'api' ? f(u.webhooks) : '-', f(u.redis), f(u.total), f(u.commands, 1), f(u.jobs, 2), f(u.perSecond, 0)]),
  ]
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')
  console.log('\n## cost: CPU, Redis commands and BullMQ jobs per completed unit, instantly answering upstream, 100 in flight\n')
  console.log(line(rows[0]!))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows.slice(1)) console.log(line(row))
  console.log('')
  for (const { r } of computed) {
    const w = r.window
    console.log(`${r.label}:`)
    // BENCH_TOP: how many (default 8); all of them to compare two runs command by command.
    console.log(`  top Redis commands per unit: ${topCommands(w.commands, w.units, Number(process.env.BENCH_TOP ?? 8))}`)
    const queues = [...w.jobs.byQueue]
      .filter(([, t]) => t.size > 0)
      .map(([q, t]) => `${q} {${[...t].map(([type, n]) => `${type} ${f(n / w.units, 2)}`).join(', ')}}`)
    console.log(`  BullMQ job events per unit: ${queues.join('; ') || 'none'}${w.jobs.missed ? ` (${w.jobs.missed} events trimmed before they were read)` : ''}`)
    console.log(`  window ${f(w.wallMs / 1000, 1)} s + ${f(w.settleMs / 1000, 1)} s settling`)
  }
  const base = computed.find(({ r }) => r.front === 'producer')?.u
  if (base) {
    console.log('\nratios to the raw BullMQ no-op job of this run:')
    for (const { r, u } of computed.filter(({ r }) => r.front === 'api')) {
      console.log(
        `  ${r.label}: CPU ×${f(u.total / base.total, 1)} (worker alone ×${f(u.worker / base.worker, 1)}), Redis commands ×${f(u.commands / base.commands, 1)}, BullMQ jobs ×${f(u.jobs / base.jobs, 1)}, units/s ${f((u.perSecond / base.perSecond) * 100, 1)} %`,
      )
    }
  }
  const skeleton = computed.find(({ r }) => r.skeleton)?.u
  const turn = computed.find(({ r }) => r.front === 'api' && !r.skeleton)
  if (skeleton && turn) {
    const x = (a: number, b: number) => `×${f(a / b, 1)}`
    const { u } = turn
    console.log(
      "\nagainst the turn skeleton of this run (only a turn's unavoidable work: three HTTP exchanges, one streamed completion through the openai SDK, a signature, a Redis write per step):\n" +
        `  ${turn.r.label}: CPU ${x(u.total, skeleton.total)} (api ${x(u.front, skeleton.front)}, worker ${x(u.worker, skeleton.worker)}, webhooks ${x(u.webhooks, skeleton.webhooks)}, redis-server ${x(u.redis, skeleton.redis)}); Threadwork's own work ${f(u.total - skeleton.total)} ms of ${f(u.total)} ms`,
    )
  }
  console.log(
    [
      '',
      `Goals (issue 14): CPU per turn ≤ 2 ms including redis-server; ≤ 60 Redis commands per turn. Reported, never asserted.`,
      `CPU from /proc/<pid>/stat (utime+stime, ${f(opts.cpuTickMs, 0)} ms ticks); commands from INFO commandstats (commands run inside Lua scripts counted too, the bench's own INFO/XREAD taken out); jobs = BullMQ \`added\` events.`,
      `Windows include background polling: ${f(opts.idleCommandsPerSecond, 0)} commands/s while idle. Load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')} on this machine: absolute figures are noisy when it is busy; compare rows of the same run.`,
      `Signature verification failures: ${opts.callbackFailures}. Scale ${opts.scale}.`,
    ].join('\n'),
  )
}
