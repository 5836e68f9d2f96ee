/**
 * The cost bench's instruments against real processes and a real Redis: CPU from /proc, command
 * deltas, the job-event reader, and the socket → process attribution MONITOR lines rely on.
 */
import { createRedisFixture, startRedisServer } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { measureCommandTime, timeByCaller } from './command-time.js'
import { commandDelta, readCommandStats, totalCommands } from './commandstats.js'
import { findQueues, followJobEvents, jobsAdded } from './job-events.js'
import { cpuMs } from './proc-cpu.js'
import { portOwners } from './trace.js'

describe('cpuMs', () => {
  it("reads a live process's CPU time, which grows while it computes", async () => {
    const before = cpuMs(process.pid)
    expect(before).toBeGreaterThan(0)
    await expect
      .poll(
        () => {
          const until = performance.now() + 50
          while (performance.now() < until) Math.sqrt(Math.random())
          return cpuMs(process.pid)
        },
        { timeout: 20_000 },
      )
      .toBeGreaterThan(before)
  })

  it('is NaN for a process that does not exist', () => {
    expect(cpuMs(2 ** 22 + 12345)).toBeNaN()
  })
})

describe('commandDelta', () => {
  it("subtracts the measurer's own commands and its first INFO, and drops zeros", () => {
    const before = new Map([
      ['get', 10],
      ['info', 3],
      ['xread', 1],
    ])
    const after = new Map([
      ['get', 15],
      ['info', 6],
      ['xread', 5],
      ['hset', 2],
    ])
    const d = commandDelta(before, after, { info: 1, xread: 4 })
    expect(Object.fromEntries(d)).toEqual({ get: 5, info: 1, hset: 2 })
    expect(totalCommands(d)).toBe(8)
  })
})

describe('with Redis', () => {
  it('readCommandStats parses INFO commandstats', async () => {
    const fx = await createRedisFixture('costcmd')
    onTestFinished(() => fx.cleanup())
    await fx.redis.set(`${fx.prefix}:k`, '1')
    const stats = await readCommandStats(fx.redis)
    expect(stats.get('set')).toBeGreaterThan(0)
    expect(stats.get('info')).toBeGreaterThan(0)
  })

  it('followJobEvents counts the jobs added to each queue during the window, and only those', async () => {
    const fx = await createRedisFixture('costjobs')
    const reader = fx.redis.duplicate()
    const queue = new Queue('q1', { connection: fx.redis.duplicate(), prefix: fx.prefix })
    onTestFinished(async () => {
      await queue.obliterate({ force: true })
      await queue.close()
      reader.disconnect()
      await fx.cleanup()
    })
    await queue.add('before', {})
    expect(await findQueues(fx.redis, fx.prefix)).toEqual(['q1'])
    const follower = await followJobEvents(reader, fx.prefix, ['q1', 'absent'])
    await queue.add('a', {})
    await queue.add('b', {})
    await queue.add('c', {}, { deduplication: { id: 'same' } })
    await queue.add('d', {}, { deduplication: { id: 'same' } })
    const counts = await follower.stop()
    expect(jobsAdded(counts.byQueue.get('q1'))).toBe(3)
    expect(counts.byQueue.get('q1')?.get('deduplicated')).toBe(1)
    expect(counts.missed).toBe(0)
    expect(counts.byQueue.get('absent')?.size).toBe(0)
  })

  it("portOwners attributes this process's Redis connection by its local port", async () => {
    const fx = await createRedisFixture('costport')
    onTestFinished(() => fx.cleanup())
    await fx.redis.ping()
    const port = (fx.redis as unknown as { stream: { localPort: number } }).stream.localPort
    const redisPort = (fx.redis as unknown as { stream: { remotePort: number } }).stream.remotePort
    expect(portOwners({ me: process.pid }, redisPort).get(port)).toBe('me')
    expect(portOwners({ other: 2 ** 22 + 12345 }, redisPort).get(port)).toBeUndefined()
    // A socket of this process to another destination is not taken for a Redis connection.
    expect(portOwners({ me: process.pid }, redisPort + 1).get(port)).toBeUndefined()
  })
})

describe('command time (SLOWLOG)', () => {
  it('timeByCaller sums µs by process and script, naming an EVALSHA by its SHA1', () => {
    const owners = new Map([[5001, 'api']])
    const names = new Map([['a'.repeat(40), 'createTurn-7']])
    const times = timeByCaller(
      [
        // Newest first, as SLOWLOG GET answers; a script's commands just before its own entry.
        [6, 0, 7, ['evalsha', 'b'.repeat(40), '0'], '127.0.0.1:6000', ''],
        [5, 0, 5, ['GET', 'k'], '127.0.0.1:5001', ''],
        [4, 0, 12, ['evalsha', 'a'.repeat(40), '1', 'k'], '127.0.0.1:5001', ''],
        [3, 0, 30, ['EVALSHA', 'a'.repeat(40), '1', 'k'], '127.0.0.1:5001', ''],
        [2, 0, 4, ['GET', 'k'], '?:0', ''],
        [1, 0, 10, ['HSET', 'k', 'a', '1'], '?:0', ''],
      ],
      owners,
      names,
    )
    expect(times).toEqual([
      { proc: 'api', caller: 'createTurn-7', calls: 2, usec: 42, inner: { calls: 2, usec: 14 }, p50: { usec: 12, inner: 0 } },
      { proc: 'other', caller: 'script bbbbbbbb', calls: 1, usec: 7, inner: { calls: 0, usec: 0 }, p50: { usec: 7, inner: 0 } },
      { proc: 'api', caller: 'get', calls: 1, usec: 5, inner: { calls: 0, usec: 0 }, p50: { usec: 5, inner: 0 } },
    ])
  })

  it("measureCommandTime logs every top-level call of the window (a script's commands counted as its own), not its own calls, and puts the slowlog back", async () => {
    const server = await startRedisServer()
    const client = new Redis(server.url)
    const admin = new Redis(server.url)
    onTestFinished(async () => {
      client.disconnect()
      admin.disconnect()
      await server.cleanup()
    })
    await admin.config('SET', 'slowlog-log-slower-than', '12345')
    await client.set('before', '1')
    const times = await measureCommandTime(server.url, { me: process.pid }, async () => {
      await client.eval("redis.call('SET', KEYS[1], '1'); return redis.call('GET', KEYS[1])", 1, 'k')
      await client.hset('h', 'a', '1', 'b', '2')
    }, 0)
    expect(times.map((t) => [t.proc, t.caller, t.calls])).toEqual(expect.arrayContaining([['me', 'eval', 1], ['me', 'hset', 1]]))
    expect(times).toHaveLength(2)
    expect(times.find((t) => t.caller === 'eval')?.inner.calls).toBe(2)
    expect(times.every((t) => t.usec >= 0)).toBe(true)
    expect(await admin.config('GET', 'slowlog-log-slower-than')).toEqual(['slowlog-log-slower-than', '12345'])
  })
})

