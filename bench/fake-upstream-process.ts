/**
 * The fake upstream in a child process of its own (`forkFakeUpstream`), so its CPU (thousands of
 * paced SSE streams) is not counted against the process being measured. Driven over IPC: set the
 * reply every request gets, read the in-flight maxima, reset the recordings.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
// Imported by path, not through the test-utils barrel: that one also loads the API and storage.
import { startFakeUpstream } from '../packages/test-utils/src/fake-upstream.js'
import type { Reply } from '../packages/test-utils/src/fake-upstream-types.js'

type Op = { op: 'respond'; reply: Reply } | { op: 'stats' } | { op: 'reset' }
type Request = Op & { id: number }

export interface UpstreamStats {
  inFlight: number
  maxInFlight: number
  requests: number
  completed: number
}

export interface ForkedUpstream {
  baseURL: string
  pid: number
  /** Every later request gets `reply` (a plain object: handlers cannot cross the process boundary). */
  respond(reply: Reply): Promise<void>
  stats(): Promise<UpstreamStats>
  /** Clears recordings and restarts the maxima from what is in flight now. */
  reset(): Promise<void>
  close(): Promise<void>
}

/** Starts the fake upstream in a child process and resolves once it listens. */
export async function forkFakeUpstream(): Promise<ForkedUpstream> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, (value: unknown) => void>()
  let next = 0
  const baseURL = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`fake upstream process exited (${code}) before it was ready`)))
    child.on('message', (m: { ready?: string; id?: number; result?: unknown }) => {
      if (m.ready) resolve(m.ready)
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.result)
        pending.delete(m.id)
      }
    })
  })
  const call = <T>(req: Op): Promise<T> =>
    new Promise((resolve) => {
      const id = next++
      pending.set(id, resolve as (value: unknown) => void)
      child.send({ ...req, id })
    })
  return {
    baseURL,
    pid: child.pid ?? -1,
    respond: (reply) => call({ op: 'respond', reply }),
    stats: () => call({ op: 'stats' }),
    reset: () => call({ op: 'reset' }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

if (process.argv.includes('--child') && process.send) {
  const upstream = await startFakeUpstream()
  process.on('message', (m: Request) => {
    let result: unknown = null
    if (m.op === 'respond') {
      const reply = m.reply
      upstream.respond(() => reply)
    } else if (m.op === 'reset') {
      upstream.reset()
    } else if (m.op === 'stats') {
      result = {
        inFlight: upstream.inFlight,
        maxInFlight: upstream.maxInFlight,
        requests: upstream.requests.length,
        completed: upstream.requests.filter((r) => r.outcome === 'completed').length,
      } satisfies UpstreamStats
    }
    process.send?.({ id: m.id, result })
  })
  process.on('SIGTERM', () => void upstream.close().finally(() => process.exit(0)))
  process.send({ ready: upstream.baseURL })
}
