import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)

/** A free TCP port on 127.0.0.1 (the OS picks it; released before return). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

export interface RedisServerOptions {
  /** Data directory; default a fresh temp dir (removed by `cleanup`). */
  dir?: string
  port?: number
  /** `redis-server` arguments after the defaults, e.g. `['--appendonly', 'yes']`. */
  args?: string[]
  /** The server binary; default `redis-server` on PATH (e.g. a `valkey-server` for a newer protocol). */
  binary?: string
}

/** A `redis-server` process of a test's own (not the shared test Redis). */
export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly dir: string
  readonly process: ChildProcess
  /** Everything it printed. */
  readonly log: string[]
  /** SIGKILL (a crash: nothing is flushed beyond what the fsync policy already wrote). */
  kill(): Promise<void>
  /** Starts it again on the same port, data dir and arguments. */
  restart(): Promise<void>
  /** Stops it (SIGKILL) and removes the temp dir it created. */
  cleanup(): Promise<void>
}

/** Resolves once `redis-server` on `port` answers PING (rejects after `timeoutMs`). */
export async function waitForRedis(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
    probe.on('error', () => {})
    try {
      await probe.connect()
      if ((await probe.ping()) === 'PONG') return
    } catch {
      // Not up yet.
    } finally {
      probe.disconnect()
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Starts `redis-server` on a free port of 127.0.0.1 with its own data dir: for tests that kill,
 * restart or reconfigure Redis (persistence, outages, Cluster). Needs `redis-server` on PATH.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort())
  const ownDir = !opts.dir
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tw-redis-')))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'no', ...(opts.args ?? [])]
  const log: string[] = []
  let child: ChildProcess

  const start = async () => {
    child = spawn(opts.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    for (const s of [child.stdout, child.stderr]) s?.on('data', (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean)))
    const exitedEarly = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${opts.binary ?? 'redis-server'} exited (${code}) on start:\n${log.slice(-20).join('\n')}`))),
    )
    exitedEarly.catch(() => {})
    await Promise.race([waitForRedis(port), exitedEarly])
  }
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get process() {
      return child
    },
    log,
    kill,
    restart: start,
    async cleanup() {
      await kill()
      if (ownDir) await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface RedisCluster {
  /** `host:port` of every master (REDIS_CLUSTER_NODES). */
  readonly nodes: string[]
  readonly servers: RedisServer[]
  cleanup(): Promise<void>
}

/**
 * A local Redis Cluster of `masters` `redis-server` processes (no replicas), created with
 * `redis-cli --cluster create`; resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = []
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendonly', 'no'],
        }),
      )
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`)
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    const deadline = Date.now() + 20_000
    for (const s of servers) {
      const c = new Redis(s.port, '127.0.0.1', { maxRetriesPerRequest: 1 })
      try {
        for (;;) {
          const info = String(await c.call('CLUSTER', 'INFO'))
          if (info.includes('cluster_state:ok')) break
          if (Date.now() > deadline) throw new Error(`cluster not ok on ${s.port}:\n${info}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      } finally {
        c.disconnect()
      }
    }
    return {
      nodes,
      servers,
      async cleanup() {
        await Promise.all(servers.map((s) => s.cleanup()))
      },
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.cleanup()))
    throw err
  }
}
