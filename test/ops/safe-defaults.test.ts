/**
 * Safe by default (issue 13, item 1), on the built API process as `pnpm start` runs it:
 * without API_KEYS it listens on loopback only and takes the README's development key; a
 * non-loopback HOST without API_KEYS, or a PORT already taken, stops start-up with one line saying why.
 */
import { spawn } from 'node:child_process'
import { type AddressInfo, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type ServiceProcess, TEST_REDIS_URL, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import { afterAll, describe, expect, it } from 'vitest'

const apiDist = fileURLToPath(new URL('../../services/api/dist/index.js', import.meta.url))
const started: ServiceProcess[] = []
afterAll(() => {
  for (const p of started) p.kill('SIGKILL')
})

/** Runs the built API to its exit and returns what it printed. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [apiDist], { env: { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', (code) => {
      clearTimeout(killer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('API without API_KEYS', () => {
  it('listens on 127.0.0.1 and accepts the development key', async () => {
    const api = await startServiceProcess('api', { PORT: '0', REDIS_PREFIX: uniquePrefix('safe'), DURABLE_WRITES: 'off' }, { readyMessage: 'api listening', timeoutMs: 60_000 })
    started.push(api)
    const line = JSON.parse(api.output.find((l) => l.includes('api listening'))!) as { host: string; port: number }
    expect(line.host).toBe('127.0.0.1')
    const res = await fetch(`http://127.0.0.1:${line.port}/v1/assistants`, { headers: { authorization: 'Bearer sk-threadwork-dev' } })
    expect(res.status).toBe(200)

    // No upstream configured (issue 13, item 12): one line at start, and runs refused naming the setting.
    expect(api.output.filter((l) => l.includes('UPSTREAM_BASE_URL'))).toHaveLength(1)
    const post = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${line.port}/v1${path}`, { method: 'POST', headers: { authorization: 'Bearer sk-threadwork-dev', 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const assistant = (await (await post('/assistants', { model: 'gpt-4o' })).json()) as { id: string }
    const run = await post('/threads/runs', { assistant_id: assistant.id })
    expect(run.status).toBe(400)
    expect(((await run.json()) as { error: { message: string } }).error.message).toMatch(/UPSTREAM_BASE_URL/)
    api.kill('SIGTERM')
    await api.exited
  })

  it('refuses a non-loopback HOST with one line naming HOST and API_KEYS', async () => {
    const { code, stdout, stderr } = await runToExit({ PORT: '0', HOST: '0.0.0.0', REDIS_PREFIX: uniquePrefix('safe') })
    expect(code).toBe(1)
    expect(stdout).toBe('')
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/HOST=0\.0\.0\.0.*API_KEYS/)
  })

  it('stops with one line naming the setting when PROVIDERS_FILE or EMBEDDING_MODEL cannot be used', async () => {
    for (const [env, want] of [
      [{ PROVIDERS_FILE: '/nonexistent/providers.json' }, /^Invalid configuration: PROVIDERS_FILE .*providers\.json/],
      [{ EMBEDDING_MODEL: 'text-embedding-3-large' }, /^Invalid configuration: EMBEDDING_MODEL 'text-embedding-3-large' matches no provider/],
    ] as const) {
      // stdout may hold the log lines before the step (the loopback note); the reason is one stderr line, no stack.
      const { code, stderr } = await runToExit({ PORT: '0', REDIS_PREFIX: uniquePrefix('safe'), ...env })
      expect(code, JSON.stringify(env)).toBe(1)
      const lines = stderr.trim().split('\n')
      expect(lines, stderr).toHaveLength(1)
      expect(lines[0]).toMatch(want)
    }
  })

  it('stops with one line naming PORT when the port is taken (a first run beside another server on 8080)', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const { code, stderr } = await runToExit({ PORT: String(port), REDIS_PREFIX: uniquePrefix('safe'), DURABLE_WRITES: 'off' })
      expect(code).toBe(1)
      const lines = stderr.trim().split('\n')
      expect(lines, stderr).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: PORT ${port} on 127\\.0\\.0\\.1 is already in use.*PORT=`))
      // The suggested port is another one (it was always 8081, even when 8081 was the one taken).
      expect(lines[0]).toContain(`(e.g. PORT=${port < 65535 ? port + 1 : port - 1} pnpm start)`)
    } finally {
      taken.close()
    }
  })
})
