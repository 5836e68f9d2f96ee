/**
 * Redis unreachable at start-up (issue 13, item 10), on the built services as `pnpm start` runs
 * them: each prints one line with the fix and then retries quietly — no ECONNREFUSED stack trace
 * per connection and reconnect attempt (BullMQ queues and workers, subscribers, ingest workers).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
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
async function startAgainstClosedRedis(name: 'api' | 'worker' | 'webhooks'): Promise<{ lines: string[]; child: ChildProcess }> {
  const dist = fileURLToPath(new URL(`../../services/${name}/dist/index.js`, import.meta.url))
  const env = {
    PATH: process.env.PATH ?? '',
    REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    PORT: '0',
    LOG_LEVEL: 'info',
    UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1',
    UPSTREAM_API_KEY: 'x',
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

const redisLines = (lines: string[]) => lines.filter((l) => /redis|ECONNREFUSED/i.test(l) && !l.includes('REDIS_PREFIX'))

describe('start-up with Redis unreachable', () => {
  it.each(['api', 'worker', 'webhooks'] as const)('%s prints one line with the fix, then retries quietly', async (name) => {
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
})
