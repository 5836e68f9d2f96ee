// scripts/lib/embedded-redis.mjs: finding or starting the Redis `pnpm start` uses, against the real
// Redis and throwaway redis-server children on free ports in temp dirs.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { embeddedRedisArgs, findOnPath, LauncherError, REDIS_HOWTO, resolveRedis, startEmbeddedRedis } from '../../scripts/lib/embedded-redis.mjs'
import { probeRedis } from '../../scripts/lib/redis-probe.mjs'
import { tempDir, freePort, fakeServer, redisCommand } from './launcher-harness.js'

describe('embeddedRedisArgs', () => {
  it('turns on AOF fsynced on every write and noeviction, bound to loopback, in the given dir', () => {
    const args = embeddedRedisArgs({ port: 6390, dir: '/tmp/x' })
    const pairs = Object.fromEntries(args.flatMap((a, i) => (a.startsWith('--') ? [[a.slice(2), args[i + 1]]] : [])))
    expect(pairs).toMatchObject({
      port: '6390',
      bind: '127.0.0.1',
      appendonly: 'yes',
      appendfsync: 'always',
      'maxmemory-policy': 'noeviction',
      dir: '/tmp/x',
    })
  })
})

describe('findOnPath', () => {
  it('finds executables only', () => {
    const dir = tempDir('path')
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n')
    chmodSync(join(dir, 'tool'), 0o755)
    writeFileSync(join(dir, 'data'), 'x')
    chmodSync(join(dir, 'data'), 0o644)
    expect(findOnPath('tool', `/nonexistent:${dir}`)).toBe(join(dir, 'tool'))
    expect(findOnPath('data', dir)).toBeNull()
    expect(findOnPath('tool', '')).toBeNull()
  })
})

describe('resolveRedis', () => {
  const neverStart = vi.fn(async () => {
    throw new Error('must not start redis')
  })

  it('uses REDIS_URL as is, without probing', async () => {
    const probe = vi.fn(async () => '+PONG')
    const r = await resolveRedis({ env: { REDIS_URL: 'redis://elsewhere:6380/2' }, dataDir: '/x', probe, startEmbedded: neverStart })
    expect(r).toEqual({ url: 'redis://elsewhere:6380/2', source: 'env' })
    expect(probe).not.toHaveBeenCalled()
  })

  it('uses a Redis already answering on 127.0.0.1:6379 (500 ms probe)', async () => {
    const probe = vi.fn(async () => '+PONG')
    const r = await resolveRedis({ env: {}, dataDir: '/x', probe, startEmbedded: neverStart })
    expect(r).toEqual({ url: 'redis://127.0.0.1:6379', source: 'local' })
    expect(probe).toHaveBeenCalledWith({ host: '127.0.0.1', port: 6379, timeoutMs: 500 })
  })

  it('refuses to start a second Redis when something else answers on the port', async () => {
    const probe = async () => '-NOAUTH Authentication required.'
    await expect(resolveRedis({ env: {}, dataDir: '/x', probe, startEmbedded: neverStart })).rejects.toThrow(/NOAUTH[\s\S]*REDIS_URL/)
  })

  it('explains how to get Redis when there is none and no redis-server binary', async () => {
    const error = await resolveRedis({
      env: { PATH: '/nonexistent' },
      dataDir: '/x',
      probe: async () => null,
      findBinary: () => null,
      startEmbedded: neverStart,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LauncherError)
    expect((error as Error).message).toBe(REDIS_HOWTO)
    expect(REDIS_HOWTO).toContain('apt-get install redis-server')
    expect(REDIS_HOWTO).toContain('brew install redis')
    expect(REDIS_HOWTO).toContain('docker compose -f infra/docker-compose.yml up -d redis')
  })

  it('starts redis-server from PATH in the data dir when nothing answers', async () => {
    const embedded = { url: 'redis://127.0.0.1:6379' }
    const startEmbedded = vi.fn(async () => embedded)
    const r = await resolveRedis({
      env: { PATH: '/opt/redis/bin' },
      dataDir: '/repo/.data/redis',
      probe: async () => null,
      findBinary: (name: string, path?: string) => (name === 'redis-server' && path === '/opt/redis/bin' ? '/opt/redis/bin/redis-server' : null),
      startEmbedded: startEmbedded as never,
    })
    expect(r).toEqual({ url: 'redis://127.0.0.1:6379', source: 'embedded', embedded })
    expect(startEmbedded).toHaveBeenCalledWith(expect.objectContaining({ bin: '/opt/redis/bin/redis-server', port: 6379, dir: '/repo/.data/redis' }))
  })
})

describe('startEmbeddedRedis (real redis-server)', () => {
  it('starts on a free port, persists to AOF in its dir, and stops on request', async () => {
    const bin = findOnPath('redis-server')
    expect(bin, 'redis-server must be on PATH for this test').not.toBeNull()
    const dir = join(tempDir('redis'), 'nested', 'redis') // created by startEmbeddedRedis
    const port = await freePort()
    const redis = await startEmbeddedRedis({ bin: bin as string, port, dir })
    onTestFinished(() => redis.stop(2000))

    expect(redis.url).toBe(`redis://127.0.0.1:${port}`)
    expect(await probeRedis({ port })).toBe(true)

    // Redis 7 multi-part AOF: appendonlydir/ with a manifest, a base and an incr file.
    const aofDir = join(dir, 'appendonlydir')
    await vi.waitFor(() => {
      const files = readdirSync(aofDir)
      expect(files.some((f) => f.endsWith('.manifest'))).toBe(true)
      expect(files.some((f) => f.includes('.incr.aof'))).toBe(true)
    })

    // A write reaches the incr AOF file.
    await redisCommand(port, ['SET', 'launcher-test-key', 'v1'])
    await vi.waitFor(() => {
      const incr = readdirSync(aofDir).find((f) => f.includes('.incr.aof')) as string
      expect(readFileSync(join(aofDir, incr), 'utf8')).toContain('launcher-test-key')
    })
    expect(await redisCommand(port, ['CONFIG', 'GET', 'maxmemory-policy'])).toContain('noeviction')

    await redis.stop()
    expect(redis.child.exitCode ?? redis.child.signalCode).not.toBeNull()
    expect(await probeRedis({ port })).toBe(false)
  })

  it('fails with redis-server’s own message when the port is taken', async () => {
    const port = await fakeServer(null)
    const error = await startEmbeddedRedis({ bin: findOnPath('redis-server') as string, port, dir: tempDir('redis-busy') }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LauncherError)
    expect((error as Error).message).toMatch(/exited with code 1 before answering PING[\s\S]*(in use|bind)/i)
  })
})
