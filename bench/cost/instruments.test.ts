/**
 * The cost bench's instruments against real processes and a real Redis: CPU from /proc, command
 * deltas, the job-event reader, and the socket → process attribution MONITOR lines rely on.
 */
import { createRedisFixture } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import { describe, expect, it, onTestFinished } from 'vitest'
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
