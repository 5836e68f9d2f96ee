/**
 * The raw BullMQ baseline's consumer in a child process of its own, so its CPU is read from
 * /proc like the services': a no-op `Worker` (BullMQ defaults but `concurrency`) on `bench-noop`.
 * The parent produces the jobs; the child says when `target` jobs have completed.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'

export const NOOP_QUEUE = 'bench-noop'

export interface NoopWorkerProcess {
  pid: number
  /** Resolves once `target` jobs have completed since the child started. */
  completed(target: number): Promise<void>
  close(): Promise<void>
}

/** Forks the child and resolves once its Worker is ready. */
export async function forkNoopWorker(redisUrl: string, prefix: string, concurrency: number): Promise<NoopWorkerProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', redisUrl, prefix, String(concurrency)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let onDone: (() => void) | null = null
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`no-op worker exited (${code}) before it was ready`)))
    child.on('message', (m: { ready?: true; done?: true }) => {
      if (m.ready) resolve()
      if (m.done) onDone?.()
    })
  })
  return {
    pid: child.pid ?? -1,
    completed: (target) =>
      new Promise<void>((resolve) => {
        onDone = resolve
        child.send({ target })
      }),
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

if (process.argv.includes('--child') && process.send) {
  const [redisUrl, prefix, concurrency] = process.argv.slice(process.argv.indexOf('--child') + 1)
  const worker = new Worker(NOOP_QUEUE, async () => null, {
    connection: new Redis(redisUrl!, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: Number(concurrency),
  })
  let completed = 0
  let target = Number.POSITIVE_INFINITY
  worker.on('completed', () => {
    if (++completed === target) process.send?.({ done: true })
  })
  process.on('message', (m: { target: number }) => {
    target = m.target
    if (completed >= target) process.send?.({ done: true })
  })
  process.on('SIGTERM', () => void worker.close().finally(() => process.exit(0)))
  await worker.waitUntilReady()
  process.send({ ready: true })
}
