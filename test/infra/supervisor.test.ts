// scripts/lib/supervisor.mjs: the services as real child processes, started and stopped together.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { superviseProcesses } from '../../scripts/lib/supervisor.mjs'
import { tempDir, fakeService, captureOutput } from './launcher-harness.js'

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

  it('add() starts a child into the running unit, which stops it with the rest; after stop() it starts nothing', async () => {
    const out = captureOutput()
    const [api, sandbox, late] = scripts({ api: fakeService(), sandbox: fakeService(), late: fakeService() })
    const sup = supervise({ processes: [api!], write: out.write, log: () => {} })
    await vi.waitFor(() => expect(out.lines('stdout')).toEqual(expect.arrayContaining([expect.stringMatching(/^\[api\] ready /)])), { timeout: 20_000 })
    expect(sup.add(sandbox!)).toBe(true)
    await vi.waitFor(() => expect(out.lines('stdout')).toEqual(expect.arrayContaining([expect.stringMatching(/^\[sandbox\] ready /)])), { timeout: 20_000 })
    expect(sup.running().sort()).toEqual(['api', 'sandbox'])
    expect(await sup.stop()).toEqual({ code: 0, failed: null })
    expect(out.lines()).toEqual(expect.arrayContaining(['[api] got SIGTERM', '[sandbox] got SIGTERM']))
    expect(sup.add(late!)).toBe(false)
    expect(sup.running()).toEqual([])
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
