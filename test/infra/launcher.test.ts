// scripts/lib/launcher.mjs end to end (`pnpm start` in-process) with fake services, against the
// developer's Redis on REDIS_URL / 127.0.0.1:6379 or throwaway redis-server children.
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { applyEnv, parseDotenv } from '../../scripts/lib/dotenv.mjs'
import { LauncherError, resolveRedis } from '../../scripts/lib/embedded-redis.mjs'
import { buildServices, redactUrl, runLauncher, SERVICES } from '../../scripts/lib/launcher.mjs'
import { probeRedis } from '../../scripts/lib/redis-probe.mjs'
import { tempDir, freePort, fakeService, captureOutput } from './launcher-harness.js'

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

  it("runs the services while the sandbox's environment installs, then starts the sandbox with the worker's token", async () => {
    const root = fakeRoot()
    const script = join(root, 'sandbox.mjs')
    writeFileSync(script, `${fakeService()}\nconsole.log('token ' + process.env.SANDBOX_TOKEN)`)
    let installed = () => {}
    const ready = new Promise<void>((resolve) => {
      installed = resolve
    })
    const sandbox = async () => ({ process: { name: 'sandbox', command: process.execPath, args: [script] }, env: { SANDBOX_TOKEN: 'tok-1' }, ready })
    const signals = new EventEmitter()
    const out = captureOutput()
    const exit = launch({ root, argv: ['--skip-build'], env: { REDIS_URL: 'redis://127.0.0.1:6390' }, signals, write: out.write, sandbox })
    await vi.waitFor(() => expect(out.lines().filter((l) => / ready /.test(l))).toHaveLength(3), { timeout: 20_000 })
    expect(out.text()).not.toContain('[sandbox]')
    installed()
    await vi.waitFor(() => expect(out.lines('stdout')).toContain('[sandbox] token tok-1'), { timeout: 20_000 })
    expect(out.text()).toContain('[start] running sandbox (code_interpreter)')
    signals.emit('SIGTERM', 'SIGTERM')
    expect(await exit).toBe(0)
    expect(out.lines()).toContain('[sandbox] got SIGTERM')
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
    const resolved = await resolveRedis({
      env,
      dataDir: tempDir('envex'),
      port: 1,
      probe: async () => null,
      findBinary: () => '/usr/bin/redis-server',
      startEmbedded: started,
    })
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
