/**
 * The API process's CPU per request (issue 14), on its own: POST a turn, GET a run, GET a
 * thread's messages, each `n` times with 50 in flight against one API process and a private
 * redis-server, the CPU read from /proc/<pid>/stat. No worker runs: turns wait in their mailbox
 * and runs stay queued, which changes nothing the API does for these requests. Reported, never asserted.
 *
 * `API_DIST=<path to an index.js>` measures another build (e.g. main's, copied beside this one's
 * dist so it resolves the same node_modules), to compare in one sitting; `SERVICE_NODE_ARGS` as for
 * every bench (`--cpu-prof --cpu-prof-dir=…` to profile).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startRedisServer, uniquePrefix } from '@threadwork/test-utils'
import { cpuMs } from './cost/proc-cpu.js'
import { benchScale, scaled } from './lib.js'

const API_KEY = 'sk-bench-apicpu'
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 50)

export async function run(): Promise<void> {
  const n = scaled(6000, 300)
  const redisServer = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] })
  const dist = process.env.API_DIST ?? fileURLToPath(new URL('../services/api/dist/index.js', import.meta.url))
  let child: ChildProcess | null = null
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      REDIS_URL: redisServer.url,
      REDIS_PREFIX: uniquePrefix('bapicpu'),
      PORT: '0',
      HOST: '127.0.0.1',
      API_KEYS: `${API_KEY}:bench`,
      UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1',
      UPSTREAM_API_KEY: 'x',
      WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32',
    }
    const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean)
    const proc = spawn(process.execPath, [...nodeArgs, dist], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    child = proc
    const port = await new Promise<number>((resolve, reject) => {
      let buf = ''
      const onData = (b: Buffer) => {
        buf += b.toString()
        const line = buf.split('\n').find((l) => l.includes('api listening'))
        // Keep reading stdout (and dropping it) so the logger never blocks on a full pipe.
        if (line) resolve((JSON.parse(line) as { port: number }).port)
      }
      proc.stdout!.on('data', onData)
      proc.once('exit', (code) => reject(new Error(`api exited (${code})`)))
    })
    const base = `http://127.0.0.1:${port}/v1`
    const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
      const json = (await res.json()) as T
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`)
      return json
    }
    const assistant = await call<{ id: string }>('POST', '/assistants', { model: 'fake-model' })
    const threads = await Promise.all(
      Array.from({ length: IN_FLIGHT }, () => call<{ id: string }>('POST', '/threads', { messages: [{ role: 'user', content: 'hi' }] })),
    )
    const runs = await Promise.all(
      threads.slice(0, 10).map((t) => call<{ id: string; thread_id: string }>('POST', `/threads/${t.id}/runs`, { assistant_id: assistant.id })),
    )
    const cases: [string, (i: number) => Promise<unknown>][] = [
      [
        'POST /threads/{id}/turns',
        (i) =>
          call('POST', `/threads/${threads[i % threads.length]!.id}/turns`, {
            assistant_id: assistant.id,
            content: 'hi',
            callback_url: 'http://127.0.0.1:9/hook',
          }),
      ],
      ['GET /threads/{id}/runs/{id}', (i) => call('GET', `/threads/${runs[i % runs.length]!.thread_id}/runs/${runs[i % runs.length]!.id}`)],
      ['GET /threads/{id}/messages', (i) => call('GET', `/threads/${threads[i % threads.length]!.id}/messages`)],
    ]
    console.log(`api CPU per request (${dist}, scale ${benchScale()}, ${n} requests, ${IN_FLIGHT} in flight)`)
    const idle0 = cpuMs(proc.pid!)
    await new Promise((r) => setTimeout(r, 5000))
    console.log(`${'idle'.padEnd(30)} ${((cpuMs(proc.pid!) - idle0) / 5).toFixed(2)} ms CPU/s`)
    for (const [name, fn] of cases) {
      await load(Math.min(500, n), fn)
      const cpu0 = cpuMs(proc.pid!)
      const t0 = performance.now()
      await load(n, fn)
      const cpu = cpuMs(proc.pid!) - cpu0
      const wall = performance.now() - t0
      console.log(`${name.padEnd(30)} ${(cpu / n).toFixed(3)} ms CPU/request  ${((n / wall) * 1000).toFixed(0)} req/s`)
    }
  } finally {
    if (child) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
    await redisServer.cleanup()
  }
}

async function load(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await fn(next++)
    }),
  )
}
