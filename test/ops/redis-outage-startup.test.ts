/**
 * Redis unreachable (issue 13, item 10), on the built services (api, worker, webhooks, sandbox) as `pnpm start` runs them: at
 * start-up each prints one line with the fix and then retries quietly — no ECONNREFUSED stack
 * trace per connection and reconnect attempt (BullMQ queues and workers, subscribers, ingest
 * workers); and an API whose Redis goes away while a run is streamed (the event hub's blocking
 * reader connections) does the same.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type RedisServer, startRedisServer } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'

const children: ChildProcess[] = []
let redisServer: RedisServer | undefined
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await redisServer?.cleanup()
})

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Every line the built service prints (stdout and stderr) while pointed at a closed Redis port. */
async function startAgainstClosedRedis(name: 'api' | 'worker' | 'webhooks' | 'sandbox', redisUrl?: string): Promise<{ lines: string[]; child: ChildProcess }> {
  const dist = fileURLToPath(new URL(`../../services/${name}/dist/index.js`, import.meta.url))
  const env = {
    PATH: process.env.PATH ?? '',
    REDIS_URL: redisUrl ?? `redis://127.0.0.1:${await closedPort()}`,
    PORT: '0',
    LOG_LEVEL: 'info',
    UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1',
    UPSTREAM_API_KEY: 'x',
    // The sandbox refuses to start without a token; it need not be able to run code for this.
    SANDBOX_TOKEN: 'redis-outage-test-token',
  }
  const child = spawn(process.execPath, [dist], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = ''
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const parts = buffer.split('\n')
      buffer = parts.pop() ?? ''
      lines.push(...parts)
    })
  }
  return { lines, child }
}

/**
 * Lines about Redis. The API's provider probe also warns about the upstream this test points at a
 * closed port (its cause chain names ECONNREFUSED): that line carries a `provider` field and is
 * not about Redis.
 */
const redisLines = (lines: string[]) => lines.filter((l) => /Redis unreachable|ECONNREFUSED|ioredis/i.test(l) && !l.includes('"provider":'))

describe('start-up with Redis unreachable', () => {
  it.each(['api', 'worker', 'webhooks', 'sandbox'] as const)('%s prints one line with the fix, then retries quietly', async (name) => {
    const { lines, child } = await startAgainstClosedRedis(name)
    await expect.poll(() => lines.some((l) => l.includes('Redis unreachable')), { timeout: 60_000 }).toBe(true)
    // ioredis retries every 50 ms … 2 s: five more seconds are dozens of attempts on every connection.
    await new Promise((resolve) => setTimeout(resolve, 5000))
    expect(child.exitCode).toBeNull()
    child.kill('SIGKILL')

    const about = redisLines(lines)
    expect(about, lines.join('\n')).toHaveLength(1)
    expect(about[0]).toContain('REDIS_URL')
    expect(about[0]).toContain('retrying quietly')
    // No stack trace, no raw error object.
    expect(
      lines.filter((l) => /^\s+at |^Error: |^\s*code: '|^\}$/.test(l)),
      lines.join('\n'),
    ).toEqual([])
  })

  it('an API whose Redis goes away while a run streams logs one line, not a trace per reader reconnect', async () => {
    redisServer = await startRedisServer()
    const { lines, child } = await startAgainstClosedRedis('api', redisServer.url)
    await expect.poll(() => lines.some((l) => l.includes('"api listening"')), { timeout: 60_000 }).toBe(true)
    const { port } = JSON.parse(lines.find((l) => l.includes('"api listening"'))!) as { port: number }
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-threadwork-dev', maxRetries: 0 })
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })
    // No worker: the stream stays open on the event hub's blocking reader until Redis goes away.
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id })
    const events: string[] = []
    const reading = (async () => {
      for await (const e of stream) events.push(e.event)
    })().catch(() => {})
    await expect.poll(() => events.includes('thread.run.created'), { timeout: 30_000 }).toBe(true)
    await redisServer.kill()
    await expect.poll(() => lines.some((l) => l.includes('Redis unreachable')), { timeout: 60_000 }).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 5000))
    stream.abort()
    await reading
    child.kill('SIGKILL')

    expect(redisLines(lines), lines.join('\n')).toHaveLength(1)
    expect(
      lines.filter((l) => /^\s+at |Error: |^\s*code: '|^\}$/.test(l) && !l.startsWith('{')),
      lines.join('\n'),
    ).toEqual([])
  })
})
