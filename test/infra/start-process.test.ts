// scripts/start.mjs and `pnpm start` as real processes, and the helpers' type declarations.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { SERVICES } from '../../scripts/lib/launcher.mjs'
import { tempDir, devRedis, fakeService } from './launcher-harness.js'

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
    await vi.waitFor(
      () => {
        for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
      },
      { timeout: 30_000 },
    )
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
    const helpers = readdirSync(lib)
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => join(lib, f))
    const tsc = join(import.meta.dirname, '../../node_modules/.bin/tsc')
    const r = spawnSync(tsc, [...regenerate.split(' ').slice(3, -2), out, ...helpers], { encoding: 'utf8' })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    for (const file of readdirSync(out)) {
      expect(readFileSync(join(lib, file), 'utf8'), `${file} is stale; regenerate with: ${regenerate}`).toBe(readFileSync(join(out, file), 'utf8'))
    }
  }, 180_000)
})
