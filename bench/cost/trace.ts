/**
 * One turn traced with MONITOR on the bench's private redis-server: every command, attributed to
 * the process that sent it (the client's TCP port matched to the process's sockets through /proc)
 * and, for commands run inside a Lua script, to the script (EVALSHA's SHA1 matched against our
 * `packages/storage/src/lua/*.lua` and BullMQ's scripts). Prints the counts per process and
 * caller for a burst of turns at once, beside an idle stretch as long (background polling), then
 * one turn's timeline of top-level calls. MONITOR itself slows Redis: use it to count, not to time.
 */
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'

interface Call {
  /** Process label (api, worker, webhooks, other). */
  proc: string
  /** Connection name (CLIENT SETNAME), or '' */
  conn: string
  /** Script name for EVALSHA/EVAL, else the command. */
  caller: string
  /** The first key, shortened: which object the call touched. */
  key: string
  /** Commands including those run inside the script. */
  commands: number
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex')

/** SHA1 → script name for our Lua scripts and BullMQ's. */
export function scriptNames(): Map<string, string> {
  const names = new Map<string, string>()
  const luaDir = fileURLToPath(new URL('../../packages/storage/src/lua/', import.meta.url))
  for (const f of readdirSync(luaDir)) if (f.endsWith('.lua')) names.set(sha1(readFileSync(join(luaDir, f), 'utf8')), f.replace(/\.lua$/, ''))
  const require = createRequire(import.meta.url)
  const bull = require(join(dirname(require.resolve('bullmq')), 'scripts/index.js')) as Record<string, { name: string; content: string }>
  for (const s of Object.values(bull)) if (s?.content) names.set(sha1(s.content), `bullmq:${s.name}`)
  return names
}

/** Local TCP port → label, for the sockets the given processes hold to Redis at `redisPort` (IPv4 and IPv6 tables). */
export function portOwners(pids: Record<string, number>, redisPort: number): Map<number, string> {
  const inodeOwner = new Map<string, string>()
  for (const [label, pid] of Object.entries(pids)) {
    let fds: string[] = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m) inodeOwner.set(m[1]!, label)
      } catch {
        // closed meanwhile
      }
    }
  }
  const owners = new Map<number, string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      const local = cols[1]
      const remote = cols[2]
      const inode = cols[9]
      // Only connections to Redis: Linux reuses an ephemeral port for connections to other
      // destinations (the webhooks' POSTs, the model calls), which mislabelled MONITOR lines.
      if (!local || !remote || !inode || Number.parseInt(remote.split(':')[1]!, 16) !== redisPort) continue
      const owner = inodeOwner.get(inode)
      if (owner) owners.set(Number.parseInt(local.split(':')[1]!, 16), owner)
    }
  }
  return owners
}

/** Records top-level calls (with their scripts' inner commands) while `during` runs. */
async function record(url: string, pids: Record<string, number>, during: () => Promise<void>): Promise<Call[]> {
  const names = scriptNames()
  const admin = new Redis(url)
  // MONITOR needs a connection of its own (sharing `admin`'s broke its replies). Made here rather
  // than by `monitor()`, so its 'error' listener is in place before it connects: MONITOR lines that
  // come in the same read as MONITOR's OK, before ioredis marks the connection `monitoring`, and
  // those still coming once disconnect() took that mark away, are taken by ioredis for replies to
  // no command ('Command queue state error', emitted as 'error'); with no listener that crashed the
  // bench at this step under load. Those lines are outside the traced window: dropped.
  const base = new Redis(url)
  const monitor = base.duplicate({ monitor: true, lazyConnect: true })
  monitor.on('error', (err: Error) => {
    if (!/Command queue state error/.test(err.message)) console.error(`MONITOR connection: ${err.message}`)
  })
  const monitoring = new Promise<void>((resolve) => monitor.once('monitoring', () => resolve()))
  await monitor.connect()
  await monitoring
  const calls: Call[] = []
  let clientInfo = new Map<number, string>()
  let owners = new Map<number, string>()
  const refresh = async () => {
    owners = portOwners(pids, Number(new URL(url).port || 6379))
    const list = String(await admin.client('LIST'))
    clientInfo = new Map([...list.matchAll(/addr=[^ ]*:(\d+) .*?name=(\S*)/g)].map((m) => [Number(m[1]), m[2]!]))
  }
  await refresh()
  const raw: { args: string[]; source: string }[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => raw.push({ args, source }))
  await during()
  await new Promise((r) => setTimeout(r, 100))
  await refresh()
  monitor.disconnect()
  base.disconnect()
  admin.disconnect()
  for (const { args, source } of raw) {
    if (source === 'lua') {
      const last = calls.at(-1)
      if (last) last.commands++
      continue
    }
    const port = Number(source.split(':').at(-1))
    const cmd = (args[0] ?? '').toLowerCase()
    const script =
      cmd === 'evalsha'
        ? (names.get(args[1] ?? '') ?? `script ${(args[1] ?? '').slice(0, 8)}`)
        : cmd === 'eval'
          ? (names.get(sha1(args[1] ?? '')) ?? 'eval')
          : null
    const key = script ? (args[3] ?? '') : (args[1] ?? '')
    calls.push({ proc: owners.get(port) ?? 'other', conn: clientInfo.get(port) ?? '', caller: script ?? cmd, key: shortKey(key), commands: 1 })
  }
  return calls
}

/** `bcost1a2b:thread:{s0}:thread_abc…:mailbox` → `thread:…:mailbox` (the shape, not the ids). */
const shortKey = (key: string) =>
  key
    .replace(/^[^:]+:/, '')
    .replace(/(thread|run|msg|turn|evt|step|asst|job)_[A-Za-z0-9]+/g, '$1_*')
    .replace(/\{[^}]+\}/g, '{…}')
    .slice(0, 60)

function summarize(calls: Call[]): Map<string, { calls: number; commands: number }> {
  const groups = new Map<string, { calls: number; commands: number }>()
  for (const c of calls) {
    const k = `${c.proc}\t${c.caller}`
    const g = groups.get(k) ?? { calls: 0, commands: 0 }
    g.calls++
    g.commands += c.commands
    groups.set(k, g)
  }
  return groups
}

export interface TraceOptions {
  redisUrl: string
  pids: Record<string, number>
  /** `turns` turns posted at once; resolves once every callback arrived. */
  burst: { turns: number; run: () => Promise<void> }
  /** Posts one turn and resolves once its callback arrived. */
  one: () => Promise<void>
}

const total = (cs: Call[]) => cs.reduce((s, c) => s + c.commands, 0)

/** Records `during` plus the trailing work after it (job completion, XACK land after the callback). */
async function recordTurns(opts: TraceOptions, during: () => Promise<void>): Promise<{ calls: Call[]; ms: number }> {
  let ms = 0
  const calls = await record(opts.redisUrl, opts.pids, async () => {
    const t0 = performance.now()
    await during()
    await new Promise((r) => setTimeout(r, 300))
    ms = performance.now() - t0
  })
  return { calls, ms }
}

/** Traces a burst of turns (per-turn counts by process and caller, beside an idle stretch as long), then one turn alone (its timeline). */
export async function traceTurns(opts: TraceOptions): Promise<void> {
  const n = opts.burst.turns
  const burst = await recordTurns(opts, opts.burst.run)
  const idle = await record(opts.redisUrl, opts.pids, () => new Promise((r) => setTimeout(r, burst.ms)))
  const idleGroups = summarize(idle)
  const groups = summarize(burst.calls)
  const per = (v: number) => (v / n).toFixed(2)
  console.log(`\n## cost: ${n} turns at once traced with MONITOR (${burst.ms.toFixed(0)} ms; per turn; idle background traced for as long)\n`)
  console.log(['process', 'caller (script or command)', 'calls/turn', 'commands/turn', 'idle commands/turn'].join('\t'))
  const byProcess = new Map<string, number>()
  for (const [k, g] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${k}\t${per(g.calls)}\t${per(g.commands)}\t${per(idleGroups.get(k)?.commands ?? 0)}`)
    const proc = k.split('\t')[0]!
    byProcess.set(proc, (byProcess.get(proc) ?? 0) + g.commands)
  }
  for (const [k, g] of idleGroups) if (!groups.has(k)) console.log(`${k}\t0\t0\t${per(g.commands)}`)
  console.log(
    `\nper turn: ${per(total(burst.calls))} commands (${[...byProcess].map(([p, c]) => `${p} ${per(c)}`).join(', ')}); idle for as long: ${per(total(idle))}`,
  )

  const one = await recordTurns(opts, opts.one)
  console.log(
    `\n## cost: one turn alone, its timeline (${one.ms.toFixed(0)} ms, ${total(one.calls)} commands; top-level calls in order, [n] = commands a script ran, repeats merged)\n`,
  )
  let prev = ''
  let repeat = 0
  const flush = () => prev && console.log(`  ${prev}${repeat > 1 ? ` ×${repeat}` : ''}`)
  for (const c of one.calls) {
    const line = `${c.proc.padEnd(8)} ${c.conn.slice(0, 26).padEnd(26)} ${c.caller}${c.commands > 1 ? ` [${c.commands}]` : ''} ${c.key}`
    if (line === prev) repeat++
    else {
      flush()
      prev = line
      repeat = 1
    }
  }
  flush()
}
