import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
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

  it("SIGKILLed mid packed entry (its first event sent, the second hanging): a restarted dispatcher sends the entry's events again in order, then the thread's commit made meanwhile", async () => {
    const h = await webhookHarness()
    let hungOnce = false
    const receiver = await startReceiver((req, res) => {
      // The entry's second event hangs on its first attempt: the dispatcher dies holding it.
      if (JSON.parse(req.body).type === 'thread.run.completed' && !hungOnce) {
        hungOnce = true
        return
      }
      res.writeHead(200).end()
    })
    await h.endpoint(receiver.url(), ['thread.message.completed', 'thread.run.completed', 'thread.turn.completed'])
    const env = { REDIS_URL: h.fx.url, REDIS_PREFIX: h.fx.prefix }

    const first = spawnDispatcher(env)
    const [msg, run, turn] = await h.emitCommit([{ type: 'thread.message.completed' }, { type: 'thread.run.completed' }, { type: 'thread.turn.completed' }], {
      thread: 'thread_k',
    })
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(2)
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe(-1)
    // The thread's next commit, while no dispatcher is alive.
    const [next] = await h.emitCommit([{ type: 'thread.turn.completed' }], { thread: 'thread_k' })

    const second = spawnDispatcher(env)
    await expect.poll(() => receiver.received.map((r) => r.headers['webhook-id']).at(-1), { timeout: 30_000 }).toBe(next)
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']))
    // Before the kill: the first event, then the hung second. After: the entry again from where
    // the thread's order needs it (at-least-once: repeats allowed), never going back, and the next commit last.
    expect(ids.slice(0, 2)).toEqual([msg, run])
    const order = [msg!, run!, turn!, next!]
    const after = ids.slice(2).map((id) => order.indexOf(id))
    expect(after).toEqual([...after].sort((a, b) => a - b))
    expect(new Set(ids.slice(2))).toEqual(new Set([run, turn, next, ...(ids.slice(2).includes(msg!) ? [msg] : [])]))
    await expect.poll(async () => (await h.fx.redis.xpending(h.stores.keys.outbox(0), 'dispatch'))[0], { timeout: 30_000 }).toBe(0)
    second.child.kill('SIGTERM')
    expect(await second.exited, second.output()).toBe(0)
  }, 180_000)
})
