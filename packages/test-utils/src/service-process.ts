import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { TEST_REDIS_URL } from './redis-fixture.js'

export type ServiceName = 'api' | 'worker' | 'webhooks'

export interface ServiceProcess {
  readonly name: ServiceName
  readonly pid: number
  readonly child: ChildProcess
  /** Every line the process printed (JSON logs), for assertions and debugging. */
  readonly output: string[]
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>
  kill(signal?: NodeJS.Signals): void
}

/** Default time a service has to log its ready line. */
const READY_TIMEOUT_MS = 90_000

const distOf = (name: ServiceName) => fileURLToPath(new URL(`../../../services/${name}/dist/index.js`, import.meta.url))

/**
 * Starts a built service (`pnpm build` first; the root test script does) as a real child process,
 * and resolves once it logs `readyMessage`. Tests kill it with SIGKILL or SIGTERM like an operator would.
 */
export async function startServiceProcess(
  name: ServiceName,
  env: Record<string, string>,
  opts: { readyMessage?: string; timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  // Profiling a benchmark: e.g. SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (Node refuses these in NODE_OPTIONS).
  const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, distOf(name)], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const readyMessage = opts.readyMessage ?? `${name} ready`
  const ready = new Promise<void>((resolve, reject) => {
    // Generous: on a busy 2-core machine a service's start (Node boot, imports, Redis connect)
    // has taken over 15 s; a slow start is not what these tests test.
    const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS
    const timer = setTimeout(() => {
      // Nobody gets a handle to a process that never became ready: end it here, or it runs on
      // after the test or bench (a bench once left four workers polling Redis).
      child.kill('SIGKILL')
      reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${output.join('\n')}`))
    }, timeoutMs)
    const onLine = (line: string) => {
      output.push(line)
      if (line.includes(readyMessage)) {
        clearTimeout(timer)
        resolve()
      }
    }
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = ''
      stream?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        const lines = buffer.split('\n')
        buffer = lines.pop() ?? ''
        for (const l of lines) onLine(l)
      })
    }
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code}) before ready:\n${output.join('\n')}`))
    })
  })
  await ready
  return { name, pid: child.pid ?? -1, child, output, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) }
}
