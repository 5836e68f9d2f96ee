import { type RedisServer, startRedisServer } from '@threadwork/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScript, script } from './scripts.js'

// A private redis-server: the test flushes its script cache and watches every command (MONITOR),
// which must not touch the shared Redis other tests and engineers use.
let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer({ args: ['--appendonly', 'no'] })
})
afterAll(() => server?.cleanup())

/** Every EVAL/EVALSHA the server runs, as `[command, first argument]`, while `fn` runs. */
async function watched(fn: () => Promise<void>): Promise<[string, string][]> {
  const monitor = await new Redis(server.url).monitor()
  const seen: [string, string][] = []
  const marker = `end-${Math.random()}`
  let ended: () => void = () => {}
  const end = new Promise<void>((resolve) => {
    ended = resolve
  })
  monitor.on('monitor', (_time: string, args: string[]) => {
    const name = String(args[0]).toLowerCase()
    if (name === 'eval' || name === 'evalsha') seen.push([name, String(args[1]).slice(0, 40)])
    if (name === 'ping' && args[1] === marker) ended()
  })
  try {
    await fn()
    // MONITOR shows commands in the order the server ran them: once this PING is seen, so is all before it.
    const probe = new Redis(server.url)
    await probe.ping(marker)
    probe.disconnect()
    await end
  } finally {
    monitor.disconnect()
  }
  return seen
}

describe('runScript', () => {
  const echo = script('echoArgs', 'return { KEYS[1], ARGV[1], ARGV[2], ARGV[3], tostring(#ARGV) }')

  it('sends EVAL the first time on a connection, EVALSHA after; arguments as strings, as ioredis makes them', async () => {
    const redis = new Redis(server.url)
    try {
      let replies: unknown[] = []
      const seen = await watched(async () => {
        replies = [await runScript(redis, echo, ['k{1}'], ['a', 7, 'é "quoted"']), await runScript(redis, echo, ['k{1}'], ['b', 0, ''])]
      })
      expect(replies).toEqual([
        ['k{1}', 'a', '7', 'é "quoted"', '3'],
        ['k{1}', 'b', '0', '', '3'],
      ])
      expect(seen.map(([name]) => name)).toEqual(['eval', 'evalsha'])
      expect(seen[1]![1]).toBe(echo.sha)
    } finally {
      redis.disconnect()
    }
  })

  it('runs again as EVAL after the script cache was flushed under a live connection (NOSCRIPT), and on a new connection', async () => {
    const redis = new Redis(server.url)
    const admin = new Redis(server.url)
    try {
      expect(await runScript(redis, echo, ['k{2}'], ['x', 1, 'y'])).toEqual(['k{2}', 'x', '1', 'y', '3'])
      await admin.script('FLUSH')
      const seen = await watched(async () => {
        expect(await runScript(redis, echo, ['k{2}'], ['after', 2, 'flush'])).toEqual(['k{2}', 'after', '2', 'flush', '3'])
        expect(await runScript(redis, echo, ['k{2}'], ['then', 3, 'sha'])).toEqual(['k{2}', 'then', '3', 'sha', '3'])
      })
      // The EVALSHA refused (NOSCRIPT), the same command again as EVAL (loading it), then EVALSHA.
      expect(seen.map(([name]) => name)).toEqual(['evalsha', 'eval', 'evalsha'])

      const other = new Redis(server.url)
      try {
        const fresh = await watched(async () => {
          await runScript(other, echo, ['k{3}'], ['new', 4, 'socket'])
        })
        expect(fresh.map(([name]) => name)).toEqual(['eval'])
      } finally {
        other.disconnect()
      }
    } finally {
      redis.disconnect()
      admin.disconnect()
    }
  })

  it("rejects with Redis' error for a script that fails", async () => {
    const redis = new Redis(server.url)
    try {
      const failing = script('failing', "return redis.error_reply('BOOM here')")
      await expect(runScript(redis, failing, [], [])).rejects.toThrow('BOOM here')
      await expect(runScript(redis, failing, [], [])).rejects.toThrow('BOOM here')
    } finally {
      redis.disconnect()
    }
  })
})
