import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startReceiver } from './delivery/test-server.js'
import { webhookHarness } from './test-harness.js'

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), '..')
// A private build: rebuilding dist/ itself could pull it from under another test running it.
const outDir = join(serviceDir, `.test-dist-${process.pid}`)

beforeAll(() => {
  execFileSync('pnpm', ['exec', 'tsup', '--out-dir', outDir, '--silent'], { cwd: serviceDir, stdio: 'pipe' })
}, 120_000)
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

/** The built dispatcher as a child process, with millisecond timings. */
function spawnDispatcher(env: Record<string, string>) {
  const child = spawn(process.execPath, [join(outDir, 'index.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32',
      WEBHOOK_LOCK_MS: '1500',
      WEBHOOK_RECLAIM_IDLE_MS: '1000',
      WEBHOOK_POLL_MS: '200',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,100,100,100',
      // Longer than the test: the hung first attempt must still be in flight when we kill.
      WEBHOOK_TIMEOUT_MS: '60000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (b: Buffer) => (output += b))
  child.stderr.on('data', (b: Buffer) => (output += b))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child: child as ChildProcess, exited, output: () => output }
}

describe('dispatcher process', () => {
  it('delivers after being SIGKILLed mid-delivery and restarted; exits cleanly on SIGTERM', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver((_req, res) => {
      // The first attempt hangs: the dispatcher dies while waiting for it.
      if (receiver.received.length > 1) res.writeHead(200).end()
    })
    const e = await h.endpoint(receiver.url())
    const env = { REDIS_URL: h.fx.url, REDIS_PREFIX: h.fx.prefix }

    const first = spawnDispatcher(env)
    const evt = await h.emit({ type: 'thread.run.completed' })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(1)
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe(-1)

    const second = spawnDispatcher(env)
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(2)
    const [hung, retried] = receiver.received
    expect(retried!.headers['webhook-id']).toBe(evt)
    expect(retried!.body).toBe(hung!.body)
    await expect.poll(() => h.deliveries(e.id), { timeout: 30_000 }).toMatchObject([{ event_id: evt, status: 'succeeded' }])

    second.child.kill('SIGTERM')
    expect(await second.exited, second.output()).toBe(0)
  }, 180_000)
})
