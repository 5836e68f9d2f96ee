/**
 * code_interpreter sandbox (services/sandbox, built): cold session start, warm trivial execution
 * beside a bare `python3 -c pass` in the same run, and idle sessions per GB of memory (PSS of
 * every process of the sessions: bwrap, kernel host, kernel). Real bubblewrap, real kernels.
 * Skipped with a message where bwrap or python3 is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createSandboxClient } from '@threadwork/sandbox-client'
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@threadwork/test-utils'
import { Redis } from 'ioredis'
import { ensureSandboxVenv, findPython, hasBwrap } from '../scripts/lib/sandbox-venv.mjs'
import { measure, measureInterleaved, printTable } from './lib.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const COLD = 8
const WARM = 200
const IDLE = 6

/** Proportional set size (shared pages split among sharers) of `pid`, in KiB. */
function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** Every descendant of `pid` (from /proc/<p>/stat's ppid). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>()
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited
    }
  }
  const out: number[] = []
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue
      out.push(child)
      walk(child)
    }
  }
  walk(pid)
  return out
}

async function startService(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [`${root}services/sandbox/dist/index.js`], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`sandbox not ready:\n${out}`)), 300_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const ready = /"url":"([^"]+)","healthy":(true|false)/.exec(out)
      if (ready) {
        clearTimeout(timer)
        if (ready[2] === 'true') resolve(ready[1] as string)
        else reject(new Error(`sandbox self-check failed:\n${out}`))
      }
    })
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) => reject(new Error(`sandbox exited (${code}):\n${out}`)))
  }).catch((err: Error) => {
    // Never leave a half-started service behind.
    child.kill('SIGKILL')
    throw err
  })
  return { child, url }
}

export async function run(): Promise<void> {
  if (!hasBwrap() || !findPython()) {
    console.log('skipped: needs bubblewrap and python3 with venv (apt-get install -y bubblewrap python3-venv)')
    return
  }
  const venv = await ensureSandboxVenv({ root, onProgress: (l) => console.log(l) })
  if (!venv.ok) throw new Error(venv.reason)
  const prefix = uniquePrefix('bsbx')
  const token = randomBytes(24).toString('hex')
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  /** A sandbox host on its own uid range, with `prewarm` spare sessions ready. */
  const startHost = (prewarm: '0' | '1') =>
    startService({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      SANDBOX_TOKEN: token,
      SANDBOX_PORT: '0',
      SANDBOX_VENV: venv.venvDir,
      SANDBOX_UID_BASE: String(900_000 + Math.floor(Math.random() * 90) * 1000),
      LOG_LEVEL: 'info',
      SANDBOX_PREWARM: prewarm,
    })
  // Measured first without a prewarmed spare (a true cold start), then with one.
  const { child } = await startHost('0')
  const client = createSandboxClient({ redis, keyPrefix: prefix, token })
  try {
    let cold = 0
    const coldSample = await measure('cold session start + `1` (bwrap + kernel_host + ipykernel)', COLD, () => client.execute({ sessionKey: `cold-${cold++}`, code: '1' }), 1)
    for (let i = 0; i < cold; i++) await client.endSession(`cold-${i}`)
    printTable('new session, no spare (SANDBOX_PREWARM=0)', [coldSample])

    const python = findPython() as string
    const bare = () =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(python, ['-c', 'pass'], { stdio: 'ignore' })
        p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python3 exited ${code}`))))
      })
    await client.execute({ sessionKey: 'warm', code: 'x = 0' })
    const [warm, py] = await measureInterleaved(
      [
        ['warm trivial execution (`x += 1`, HTTP + kernel round trip)', () => client.execute({ sessionKey: 'warm', code: 'x += 1' })],
        [`bare \`${python} -c pass\` (spawn to exit)`, bare],
      ],
      WARM,
      20,
    )
    printTable('code_interpreter latency', [warm as never, py as never])

    // Idle sessions: fresh ones, then ones that imported the data stack (a chart's worth).
    await client.endSession('warm')
    const pid = child.pid as number
    let round = 0
    const measureIdle = async (label: string, code: string) => {
      const key = `idle-${round++}`
      for (let i = 0; i < IDLE; i++) await client.execute({ sessionKey: `${key}-${i}`, code })
      const procs = descendants(pid)
      const kib = procs.reduce((s, p) => s + pssKiB(p), 0)
      for (let i = 0; i < IDLE; i++) await client.endSession(`${key}-${i}`)
      const perSession = kib / 1024 / IDLE
      return `${label.padEnd(48)} ${perSession.toFixed(1).padStart(7)} MB PSS/session  → ${Math.floor(1024 / perSession)} idle sessions per GB (${procs.length} processes for ${IDLE} sessions)`
    }
    console.log('\n## idle sessions per GB of memory\n')
    console.log(await measureIdle('fresh session (ran `1`)', '1'))
    console.log(await measureIdle('after `import numpy, pandas, matplotlib.pyplot`', 'import numpy, pandas, matplotlib.pyplot as plt'))
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }

  // The default: one prewarmed spare. A new session arriving while it is ready.
  const warmHost = await startHost('1')
  try {
    const spareReady = async () => {
      for (;;) {
        const health = (await (await fetch(`${warmHost.url}/healthz`)).json()) as { readySpares?: number }
        if ((health.readySpares ?? 0) > 0) return
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const times: number[] = []
    for (let i = 0; i < COLD; i++) {
      await spareReady()
      const start = performance.now()
      await client.execute({ sessionKey: `spare-${i}`, code: '1' })
      times.push(performance.now() - start)
      await client.endSession(`spare-${i}`)
    }
    times.sort((a, b) => a - b)
    const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)] as number
    printTable('new session from a ready spare (SANDBOX_PREWARM=1, the default)', [
      { name: 'new session + `1`, spare ready', n: COLD, p50: q(0.5), p99: q(0.99), mean: times.reduce((a, b) => a + b, 0) / COLD },
    ])
  } finally {
    warmHost.child.kill('SIGTERM')
    await new Promise((r) => warmHost.child.once('exit', r))
    await deleteKeysWithPrefix(redis, prefix)
    redis.disconnect()
  }
}
