// `pnpm start` (scripts/start.mjs) and its helpers in scripts/lib/, against real processes and a
// real Redis: the developer's Redis on REDIS_URL / 127.0.0.1:6379, and throwaway redis-server
// children on free ports in temp dirs.
import { spawn, spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { applyEnv, loadDotenvFile, parseDotenv } from '../../scripts/lib/dotenv.mjs'
import {
  embeddedRedisArgs,
  findOnPath,
  LauncherError,
  REDIS_HOWTO,
  resolveRedis,
  startEmbeddedRedis,
} from '../../scripts/lib/embedded-redis.mjs'
import { buildServices, redactUrl, runLauncher, SERVICES } from '../../scripts/lib/launcher.mjs'
import { createLinePrefixer } from '../../scripts/lib/line-prefixer.mjs'
import { probeRedis, probeRedisReply } from '../../scripts/lib/redis-probe.mjs'
import { superviseProcesses } from '../../scripts/lib/supervisor.mjs'

// ---------- fixtures ----------

const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `tw-${label}-`))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const freePort = async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A TCP server on a free port that answers each connection with `reply` (or stays silent). */
const fakeServer = async (reply: string | null) => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    if (reply !== null) socket.once('data', () => socket.write(reply))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

const devRedis = () => {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  return { host: url.hostname, port: Number(url.port || 6379) }
}

/**
 * A stand-in service: prints what it saw, exits on SIGTERM (after `termDelayMs`), or ignores it,
 * or exits by itself after `exitAfterMs` with `exitCode`.
 */
const fakeService = (opts: { ignoreTerm?: boolean; exitAfterMs?: number; exitCode?: number } = {}) => `
const name = process.argv[2] ?? process.env.SERVICE_NAME ?? 'svc'
process.on('SIGTERM', () => {
  ${opts.ignoreTerm ? "console.log('ignoring SIGTERM')" : "console.log('got SIGTERM'); process.exit(0)"}
})
console.log('ready REDIS_URL=' + process.env.REDIS_URL + ' FROM_DOTENV=' + process.env.FROM_DOTENV + ' PRESET=' + process.env.PRESET)
console.error('a line on stderr')
console.log('pid ' + process.pid)
${opts.exitAfterMs !== undefined ? `setTimeout(() => { console.log('exiting'); process.exit(${opts.exitCode ?? 0}) }, ${opts.exitAfterMs})` : ''}
setInterval(() => {}, 1000)
`

const captureOutput = () => {
  const chunks: { text: string; stream: 'stdout' | 'stderr' }[] = []
  return {
    write: (text: string, stream: 'stdout' | 'stderr') => void chunks.push({ text, stream }),
    text: () => chunks.map((c) => c.text).join(''),
    lines: (stream?: 'stdout' | 'stderr') =>
      chunks
        .filter((c) => !stream || c.stream === stream)
        .map((c) => c.text)
        .join('')
        .split('\n')
        .filter(Boolean),
  }
}

// ---------- probe ----------

describe('probeRedis', () => {
  it('answers true for the real Redis (PING → +PONG)', async () => {
    expect(await probeRedis({ ...devRedis(), timeoutMs: 500 })).toBe(true)
    expect(await probeRedisReply({ ...devRedis(), timeoutMs: 500 })).toBe('+PONG')
  })

  it('answers false quickly for a port nobody listens on', async () => {
    const port = await freePort()
    const started = Date.now()
    expect(await probeRedis({ port, timeoutMs: 10_000 })).toBe(false)
    expect(Date.now() - started).toBeLessThan(5_000) // refused, not timed out (loose for a loaded machine)
  })

  it('gives up after the timeout when the peer accepts but never answers', async () => {
    const port = await fakeServer(null)
    const started = Date.now()
    expect(await probeRedisReply({ port, timeoutMs: 200 })).toBeNull()
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(10_000) // gave up rather than waiting for ever (loose for a loaded machine)
  })

  it('is false for a server that answers something other than +PONG, and reports what it said', async () => {
    const port = await fakeServer('-NOAUTH Authentication required.\r\n')
    expect(await probeRedis({ port })).toBe(false)
    expect(await probeRedisReply({ port })).toBe('-NOAUTH Authentication required.')
  })
})

// ---------- Redis resolution ----------

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
    expect(startEmbedded).toHaveBeenCalledWith(
      expect.objectContaining({ bin: '/opt/redis/bin/redis-server', port: 6379, dir: '/repo/.data/redis' }),
    )
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
    const error = await startEmbeddedRedis({ bin: findOnPath('redis-server') as string, port, dir: tempDir('redis-busy') }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LauncherError)
    expect((error as Error).message).toMatch(/exited with code 1 before answering PING[\s\S]*(in use|bind)/i)
  })
})

/** Minimal RESP client for assertions (inline command, first reply chunk as text). */
function redisCommand(port: number, args: string[]) {
  return new Promise<string>((resolve, reject) => {
    const socket = net.createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    })
    socket.once('data', (d) => {
      resolve(d.toString())
      socket.destroy()
    })
    socket.once('error', reject)
  })
}

// ---------- output prefixing ----------

describe('createLinePrefixer', () => {
  it('prefixes whole lines, holds partial ones until their newline, flushes the tail', () => {
    const out: string[] = []
    const p = createLinePrefixer('[api] ', (t) => out.push(t))
    p.push('hello\nwor')
    expect(out).toEqual(['[api] hello\n'])
    p.push('ld\r\nsecond\nthi')
    expect(out.join('')).toBe('[api] hello\n[api] world\n[api] second\n')
    p.flush()
    expect(out.join('')).toBe('[api] hello\n[api] world\n[api] second\n[api] thi\n')
    p.flush()
    expect(out).toHaveLength(3) // nothing pending: no extra write
  })

  it('keeps multi-byte characters split across chunks intact', () => {
    const out: string[] = []
    const p = createLinePrefixer('[worker] ', (t) => out.push(t))
    const bytes = Buffer.from('naïve → ok\n')
    p.push(bytes.subarray(0, 3)) // ends inside "ï"
    p.push(bytes.subarray(3, 8)) // ends inside "→"
    p.push(bytes.subarray(8))
    expect(out.join('')).toBe('[worker] naïve → ok\n')
  })

  it('keeps empty lines', () => {
    const out: string[] = []
    const p = createLinePrefixer('[x] ', (t) => out.push(t))
    p.push('a\n\nb\n')
    expect(out.join('')).toBe('[x] a\n[x] \n[x] b\n')
  })
})

// ---------- .env ----------

describe('dotenv', () => {
  it('parses KEY=VALUE, comments, export, and quotes', () => {
    const vars = parseDotenv(
      [
        '# comment',
        '',
        'PLAIN=value',
        'SPACED = padded value  # trailing comment',
        'export EXPORTED=yes',
        'DOUBLE="line1\\nline2 # not a comment"',
        "SINGLE='raw \\n $HOME'",
        'ESCAPED="say \\"hi\\""',
        'EMPTY=',
        'URL=redis://:p#ss@host:6379/0',
        'not a valid line',
      ].join('\r\n'),
    )
    expect(vars).toEqual({
      PLAIN: 'value',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      DOUBLE: 'line1\nline2 # not a comment',
      SINGLE: 'raw \\n $HOME',
      ESCAPED: 'say "hi"',
      EMPTY: '',
      URL: 'redis://:p#ss@host:6379/0',
    })
  })

  it('never overrides variables that are already set', () => {
    const env: Record<string, string | undefined> = { A: 'from-shell', EMPTY: '' }
    expect(applyEnv(env, { A: 'from-file', B: 'b', EMPTY: 'x' })).toEqual(['B'])
    expect(env).toEqual({ A: 'from-shell', B: 'b', EMPTY: '' })
  })

  it('loads a file when present and ignores a missing one', () => {
    const dir = tempDir('dotenv')
    const env: Record<string, string | undefined> = {}
    expect(loadDotenvFile(join(dir, '.env'), env)).toEqual([])
    writeFileSync(join(dir, '.env'), 'X=1\n')
    expect(loadDotenvFile(join(dir, '.env'), env)).toEqual(['X'])
    expect(env.X).toBe('1')
  })
})

// ---------- supervisor ----------

/** superviseProcesses that never outlives its test, even a failing one. */
const supervise = (opts: Parameters<typeof superviseProcesses>[0]) => {
  const sup = superviseProcesses(opts)
  onTestFinished(() => sup.signalAll('SIGKILL'))
  return sup
}

describe('superviseProcesses', () => {
  const scripts = (specs: Record<string, string>) => {
    const dir = tempDir('svc')
    return Object.entries(specs).map(([name, source]) => {
      const file = join(dir, `${name}.mjs`)
      writeFileSync(file, source)
      return { name, command: process.execPath, args: [file, name] }
    })
  }

  it('prefixes each child’s stdout and stderr with its name', async () => {
    const out = captureOutput()
    const sup = supervise({ processes: scripts({ api: fakeService(), worker: fakeService() }), write: out.write, log: () => {} })
    await vi.waitFor(() => expect(out.lines().filter((l) => l.includes('a line on stderr'))).toHaveLength(2), { timeout: 20_000 })
    expect(out.lines('stdout')).toEqual(expect.arrayContaining([expect.stringMatching(/^\[api\] ready /), expect.stringMatching(/^\[worker\] ready /)]))
    expect(out.lines('stderr')).toEqual(expect.arrayContaining(['[api] a line on stderr', '[worker] a line on stderr']))
    expect(await sup.stop()).toEqual({ code: 0, failed: null })
  })

  it('when one child exits unexpectedly, stops the others and reports its code', async () => {
    const out = captureOutput()
    const logs: string[] = []
    const sup = supervise({
      processes: scripts({ api: fakeService(), worker: fakeService({ exitAfterMs: 300, exitCode: 3 }), webhooks: fakeService() }),
      write: out.write,
      log: (m) => logs.push(m),
    })
    expect(await sup.done).toEqual({ code: 3, failed: 'worker' })
    expect(out.lines()).toEqual(expect.arrayContaining(['[worker] exiting', '[api] got SIGTERM', '[webhooks] got SIGTERM']))
    expect(logs.join('\n')).toMatch(/worker exited unexpectedly \(code 3\)/)
  })

  it('treats a clean exit (code 0) of a long-running child as a failure too', async () => {
    const sup = supervise({
      processes: scripts({ api: fakeService(), worker: fakeService({ exitAfterMs: 100, exitCode: 0 }) }),
      write: () => {},
      log: () => {},
    })
    expect(await sup.done).toEqual({ code: 1, failed: 'worker' })
  })

  it('on stop: SIGTERM to all, SIGKILL for stragglers after the grace period', async () => {
    const out = captureOutput()
    const logs: string[] = []
    const sup = supervise({
      processes: scripts({ api: fakeService(), stubborn: fakeService({ ignoreTerm: true }) }),
      graceMs: 400,
      write: out.write,
      log: (m) => logs.push(m),
    })
    await vi.waitFor(() => expect(out.lines().filter((l) => l.includes('ready'))).toHaveLength(2), { timeout: 20_000 })
    const started = Date.now()
    expect(await sup.stop()).toEqual({ code: 0, failed: null })
    expect(Date.now() - started).toBeGreaterThanOrEqual(380)
    expect(out.lines()).toEqual(expect.arrayContaining(['[api] got SIGTERM', '[stubborn] ignoring SIGTERM']))
    expect(logs.join('\n')).toMatch(/still running after 0.4 s: stubborn; sending SIGKILL/)
    expect(sup.running()).toEqual([])
  })

  it('a second stop() kills at once', async () => {
    const out = captureOutput()
    const sup = supervise({
      processes: scripts({ stubborn: fakeService({ ignoreTerm: true }) }),
      graceMs: 30_000,
      write: out.write,
      log: () => {},
    })
    await vi.waitFor(() => expect(out.text()).toContain('ready'), { timeout: 20_000 })
    void sup.stop()
    await vi.waitFor(() => expect(out.text()).toContain('ignoring SIGTERM'), { timeout: 20_000 })
    const started = Date.now()
    expect(await sup.stop()).toEqual({ code: 0, failed: null })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('reports a child that cannot be spawned', async () => {
    const logs: string[] = []
    const sup = supervise({
      processes: [{ name: 'ghost', command: '/nonexistent/binary', args: [] }],
      write: () => {},
      log: (m) => logs.push(m),
    })
    expect(await sup.done).toEqual({ code: 1, failed: 'ghost' })
    expect(logs.join('\n')).toMatch(/ghost could not start: .*ENOENT/)
  })
})

// ---------- the launcher end to end ----------

/** runLauncher that never outlives its test: a failing test still stops services and Redis. */
const launch = (opts: Parameters<typeof runLauncher>[0]) => {
  const signals = (opts.signals ?? new EventEmitter()) as EventEmitter
  const exit = runLauncher({ ...opts, signals, graceMs: opts.graceMs ?? 5000 })
  onTestFinished(async () => {
    signals.emit('SIGTERM', 'SIGTERM')
    await exit
  })
  return exit
}

describe('runLauncher', () => {
  /** A repo root whose services/<name>/dist/index.js are fake services. */
  const fakeRoot = (overrides: Partial<Record<(typeof SERVICES)[number], string>> = {}) => {
    const root = tempDir('root')
    for (const name of SERVICES) {
      mkdirSync(join(root, 'services', name, 'dist'), { recursive: true })
      writeFileSync(join(root, 'services', name, 'dist', 'index.js'), overrides[name] ?? fakeService())
    }
    writeFileSync(join(root, '.env'), 'FROM_DOTENV=loaded\nPRESET=from-dotenv\n')
    return root
  }

  it('builds, starts an embedded Redis with AOF, runs the three services, and shuts down on SIGINT', async () => {
    const root = fakeRoot()
    const port = await freePort()
    const signals = new EventEmitter()
    const out = captureOutput()
    const build = vi.fn()
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PRESET: 'from-shell' }

    const exit = launch({ root, env, signals, write: out.write, redisPort: port, graceMs: 5000, build })
    await vi.waitFor(() => expect(out.lines().filter((l) => / ready /.test(l))).toHaveLength(3), { timeout: 15_000 })

    expect(build).toHaveBeenCalledWith(root, env)
    for (const name of SERVICES) {
      // Resolved REDIS_URL is passed down; .env filled the gaps without overriding the shell.
      expect(out.lines('stdout')).toContain(`[${name}] ready REDIS_URL=redis://127.0.0.1:${port} FROM_DOTENV=loaded PRESET=from-shell`)
    }
    expect(out.text()).toContain(`[start] Redis: redis://127.0.0.1:${port} (started by us`)
    expect(await probeRedis({ port })).toBe(true)
    expect(readdirSync(join(root, '.data', 'redis', 'appendonlydir')).some((f) => f.endsWith('.manifest'))).toBe(true)

    signals.emit('SIGINT', 'SIGINT')
    expect(await exit).toBe(0)
    for (const name of SERVICES) expect(out.lines()).toContain(`[${name}] got SIGTERM`)
    expect(await probeRedis({ port })).toBe(false) // embedded Redis stopped last
    expect(out.text()).toContain('[start] embedded Redis stopped')
    expect(signals.listenerCount('SIGINT')).toBe(0)
  })

  it('uses REDIS_URL from the environment and skips the build with --skip-build', async () => {
    const root = fakeRoot()
    const signals = new EventEmitter()
    const out = captureOutput()
    const build = vi.fn()
    const exit = launch({
      root,
      argv: ['--skip-build'],
      env: { REDIS_URL: 'redis://user:secret@example.invalid:6390' },
      signals,
      write: out.write,
      build,
    })
    await vi.waitFor(() => expect(out.lines().filter((l) => / ready /.test(l))).toHaveLength(3), { timeout: 20_000 })
    expect(build).not.toHaveBeenCalled()
    expect(out.lines('stdout')).toContain('[api] ready REDIS_URL=redis://user:secret@example.invalid:6390 FROM_DOTENV=loaded PRESET=from-dotenv')
    expect(out.text()).toContain('[start] Redis: redis://user:***@example.invalid:6390 (from REDIS_URL)')
    signals.emit('SIGTERM', 'SIGTERM')
    expect(await exit).toBe(0)
  })

  it('exits non-zero and stops the rest (and its Redis) when a service dies', async () => {
    const root = fakeRoot({ webhooks: fakeService({ exitAfterMs: 500, exitCode: 7 }) })
    const port = await freePort()
    const out = captureOutput()
    const code = await launch({ root, env: { PATH: process.env.PATH }, write: out.write, redisPort: port, build: () => {} })
    expect(code).toBe(7)
    expect(out.text()).toMatch(/webhooks exited unexpectedly \(code 7\); stopping the others/)
    expect(out.lines()).toEqual(expect.arrayContaining(['[api] got SIGTERM', '[worker] got SIGTERM']))
    expect(await probeRedis({ port })).toBe(false)
  })

  it('fails clearly when the build fails or its output is missing', async () => {
    const out = captureOutput()
    const failing = await launch({
      root: fakeRoot(),
      env: { REDIS_URL: 'redis://x' },
      signals: new EventEmitter(),
      write: out.write,
      build: () => {
        throw new LauncherError('Build failed: boom')
      },
    })
    expect(failing).toBe(1)
    expect(out.text()).toContain('[start] Build failed: boom')

    const root = fakeRoot()
    rmSync(join(root, 'services', 'worker', 'dist'), { recursive: true })
    const missing = await launch({ root, argv: ['--skip-build'], env: { REDIS_URL: 'redis://x' }, write: out.write })
    expect(missing).toBe(1)
    expect(out.text()).toContain(`Missing build output: ${join('services', 'worker', 'dist', 'index.js')}`)
  })

  it('exits 1 with the how-to when there is no Redis at all', async () => {
    const root = fakeRoot()
    const out = captureOutput()
    const code = await launch({
      root,
      argv: ['--skip-build'],
      env: { PATH: '/nonexistent' },
      write: out.write,
      redisPort: await freePort(),
    })
    expect(code).toBe(1)
    expect(out.text()).toContain('apt-get install redis-server')
    expect(existsSync(join(root, '.data', 'redis'))).toBe(false)
  })
})

describe('buildServices (quiet start, issue 13 item 12)', () => {
  /** A stand-in for pnpm (found through npm_execpath, as under `pnpm start`) that prints and exits with `code`. */
  const fakePnpm = (code: number) => {
    const dir = tempDir('fake-pnpm')
    const bin = join(dir, 'fake-pnpm.cjs')
    writeFileSync(bin, `console.log('turbo build noise'); console.error('more noise'); process.exit(${code})`)
    return { dir, env: { PATH: process.env.PATH, npm_execpath: bin } }
  }

  it('prints nothing when the build succeeds', () => {
    const { dir, env } = fakePnpm(0)
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    onTestFinished(() => {
      stderr.mockRestore()
      stdout.mockRestore()
    })
    buildServices(dir, env)
    expect(stderr).not.toHaveBeenCalled()
    expect(stdout).not.toHaveBeenCalled()
  })

  it('shows the build output, then fails, when the build fails', () => {
    const { dir, env } = fakePnpm(2)
    const written: string[] = []
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk))
      return true
    })
    onTestFinished(() => stderr.mockRestore())
    expect(() => buildServices(dir, env)).toThrow(LauncherError)
    expect(written.join('')).toContain('turbo build noise')
    expect(written.join('')).toContain('more noise')
  })
})

describe('.env.example copied to .env (issue 13, item 10)', () => {
  it('leaves REDIS_URL unset, so pnpm start still finds or starts its own Redis', async () => {
    const vars = parseDotenv(readFileSync(join(import.meta.dirname, '../../.env.example'), 'utf8'))
    const env: Record<string, string | undefined> = { PATH: '/usr/bin' }
    applyEnv(env, vars)
    expect(env.REDIS_URL ?? '').toBe('')
    const started = vi.fn(async () => ({ url: 'redis://127.0.0.1:1', child: null as never, exited: new Promise<void>(() => {}), stop: async () => {} }))
    const resolved = await resolveRedis({ env, dataDir: tempDir('envex'), port: 1, probe: async () => null, findBinary: () => '/usr/bin/redis-server', startEmbedded: started })
    expect(resolved.source).toBe('embedded')
    expect(started).toHaveBeenCalled()
  })

  it('leaves API_KEYS unset, so the README samples (sk-threadwork-dev) work on loopback', () => {
    const vars = parseDotenv(readFileSync(join(import.meta.dirname, '../../.env.example'), 'utf8'))
    expect(vars.API_KEYS ?? '').toBe('')
    expect(vars.HOST ?? '').toBe('')
  })
})

describe('redactUrl', () => {
  it('hides the password only', () => {
    expect(redactUrl('redis://:pw@h:1')).toBe('redis://:***@h:1')
    expect(redactUrl('rediss://u:pw@h:1/0')).toBe('rediss://u:***@h:1/0')
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379')
  })
})

describe('scripts/start.mjs as a real process', () => {
  it('runs the services of its repo root and exits 0 on SIGINT, leaving no children behind', async () => {
    const root = tempDir('start')
    cpSync(join(import.meta.dirname, '../../scripts'), join(root, 'scripts'), { recursive: true })
    for (const name of SERVICES) {
      mkdirSync(join(root, 'services', name, 'dist'), { recursive: true })
      writeFileSync(join(root, 'services', name, 'dist', 'index.js'), fakeService())
    }
    const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), '--skip-build'], {
      env: { PATH: process.env.PATH, REDIS_URL: `redis://${devRedis().host}:${devRedis().port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => void child.kill('SIGKILL'))
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))

    await vi.waitFor(() => expect(output.match(/^\[\w+\] pid \d+$/gm)).toHaveLength(3), { timeout: 10_000 })
    const pids = [...output.matchAll(/^\[\w+\] pid (\d+)$/gm)].map((m) => Number(m[1]))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(output).toContain('[start] SIGINT: stopping services')
    for (const name of SERVICES) expect(output).toContain(`[${name}] got SIGTERM`)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow() // all gone
  })

  it('is what `pnpm start` runs (exec: pnpm signals the launcher itself, not a shell in between)', () => {
    const rootPkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'))
    expect(rootPkg.scripts.start).toBe('exec node scripts/start.mjs')
  })
})

describe('`pnpm start` as a real process (issue 13, item 11)', () => {
  /** A repo root with the real scripts and package.json start script, and fake services. */
  const startRoot = () => {
    const root = tempDir('pnpm-start')
    cpSync(join(import.meta.dirname, '../../scripts'), join(root, 'scripts'), { recursive: true })
    const rootPkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'))
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'tw-start-test', private: true, scripts: { start: rootPkg.scripts.start } }))
    for (const name of SERVICES) {
      mkdirSync(join(root, 'services', name, 'dist'), { recursive: true })
      writeFileSync(join(root, 'services', name, 'dist', 'index.js'), fakeService())
    }
    return root
  }

  /** `pnpm start --skip-build` in its own process group (as a terminal runs it), then `send` once all three services are up. */
  const runPnpmStart = async (send: (pnpmPid: number) => void) => {
    const child = spawn('pnpm', ['start', '--skip-build'], {
      cwd: startRoot(),
      env: { PATH: process.env.PATH, REDIS_URL: `redis://${devRedis().host}:${devRedis().port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    onTestFinished(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const exited = new Promise<number | string | null>((done) => child.on('close', (code, signal) => done(code ?? signal)))
    await vi.waitFor(() => expect(output.match(/^\[\w+\] pid \d+$/gm)).toHaveLength(3), { timeout: 30_000 })
    const pids = [...output.matchAll(/^\[\w+\] pid (\d+)$/gm)].map((m) => Number(m[1]))
    send(child.pid!)
    const code = await exited
    // Every service got exactly one SIGTERM and is gone (a second signal would have meant SIGKILL).
    await vi.waitFor(() => {
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    }, { timeout: 30_000 })
    for (const name of SERVICES) expect(output.split('\n').filter((l) => l === `[${name}] got SIGTERM`)).toHaveLength(1)
    expect(output).not.toMatch(/SIGKILL/)
    return { code, output }
  }

  it('a Ctrl-C (SIGINT to the process group) stops everything and exits 0 without ELIFECYCLE', async () => {
    const { code, output } = await runPnpmStart((pid) => process.kill(-pid, 'SIGINT'))
    expect(code).toBe(0)
    expect(output).not.toContain('ELIFECYCLE')
    expect(output).toContain('[start] all services stopped')
  }, 180_000)

  it('SIGTERM to the pnpm pid stops everything and exits 0 without ELIFECYCLE', async () => {
    const { code, output } = await runPnpmStart((pid) => process.kill(pid, 'SIGTERM'))
    expect(code).toBe(0)
    expect(output).not.toContain('ELIFECYCLE')
    expect(output).toContain('[start] all services stopped')
  }, 180_000)

  it('SIGINT to the pnpm pid stops every service gracefully', async () => {
    const { output } = await runPnpmStart((pid) => process.kill(pid, 'SIGINT'))
    expect(output).toContain('[start] SIGINT: stopping services')
  }, 180_000)
})

describe('scripts/lib/*.d.mts', () => {
  // The helpers are plain JS with JSDoc types (no build step); these declarations let the tests
  // typecheck. They are generated, and must be regenerated when a helper's signature changes.
  const regenerate =
    'pnpm exec tsc --allowJs --declaration --emitDeclarationOnly --strict --module nodenext --moduleResolution nodenext ' +
    '--target es2022 --types node --skipLibCheck --outDir scripts/lib scripts/lib/*.mjs'

  it('match the JSDoc of the helpers', () => {
    const lib = join(import.meta.dirname, '../../scripts/lib')
    const out = tempDir('dts')
    const helpers = readdirSync(lib).filter((f) => f.endsWith('.mjs')).map((f) => join(lib, f))
    const tsc = join(import.meta.dirname, '../../node_modules/.bin/tsc')
    const r = spawnSync(tsc, [...regenerate.split(' ').slice(3, -2), out, ...helpers], { encoding: 'utf8' })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    for (const file of readdirSync(out)) {
      expect(readFileSync(join(lib, file), 'utf8'), `${file} is stale; regenerate with: ${regenerate}`).toBe(
        readFileSync(join(out, file), 'utf8'),
      )
    }
  }, 180_000)
})
