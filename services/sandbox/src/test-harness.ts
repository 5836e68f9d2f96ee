import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { SandboxEnv, loadEnv } from '@threadwork/config'
import { type SandboxClient, createSandboxClient } from '@threadwork/sandbox-client'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { ensureSandboxVenv, findPython, hasBwrap } from '../../../scripts/lib/sandbox-venv.mjs'
import { type SandboxServer, startSandboxServer } from './server.js'

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

/**
 * Why sandbox tests cannot run here (no bwrap, no python3), or null. Only a truly missing tool
 * skips; a broken install fails the tests.
 */
export function sandboxSkipReason(): string | null {
  if (!hasBwrap()) return 'bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap'
  if (findPython() === null) return 'python3 with venv is not installed: apt-get install -y python3 python3-venv'
  return null
}

/** Installs the venv if needed (minutes, once per checkout) and returns its path. */
export async function ensureVenv(): Promise<string> {
  const result = await ensureSandboxVenv({ root: repoRoot, env: process.env })
  if (!result.ok) throw new Error(result.reason)
  return result.venvDir
}

export interface SandboxHarness {
  fixture: RedisFixture
  server: SandboxServer
  client: SandboxClient
  token: string
  env: SandboxEnv
  /** A second host under the same prefix (scale-out tests). */
  startAnother(overrides?: Record<string, string>): Promise<SandboxServer>
  close(): Promise<void>
}

/**
 * A real sandbox service (real bwrap, real kernels) on a random loopback port, registered under
 * a fresh Redis prefix, and a client for it. `overrides` are SandboxEnv variables.
 */
export async function startSandboxHarness(overrides: Record<string, string> = {}): Promise<SandboxHarness> {
  const venv = await ensureVenv()
  const fixture = await createRedisFixture('sbx')
  const token = randomBytes(24).toString('hex')
  // Each harness its own uid range: RLIMIT_NPROC counts per uid, and test files run in parallel.
  const uidBase = String(300_000 + Math.floor(Math.random() * 600) * 1000)
  const envOf = (o: Record<string, string>) =>
    loadEnv(SandboxEnv, {
      REDIS_URL: fixture.url,
      REDIS_PREFIX: fixture.prefix,
      SANDBOX_TOKEN: token,
      SANDBOX_PORT: '0',
      SANDBOX_VENV: venv,
      SANDBOX_UID_BASE: uidBase,
      ...o,
    }) as SandboxEnv
  const env = envOf(overrides)
  const servers: SandboxServer[] = []
  const start = async (o: Record<string, string>) => {
    const s = await startSandboxServer(envOf(o), { redis: fixture.redis, log: process.env.SANDBOX_TEST_LOG ? (level, msg, fields) => console.error(level, msg, fields ?? '') : () => undefined })
    servers.push(s)
    return s
  }
  const server = await start(overrides)
  if (server.unhealthy) throw new Error(`sandbox self-check failed: ${server.unhealthy}`)
  const client = createSandboxClient({ redis: fixture.redis, keyPrefix: fixture.prefix, token })
  return {
    fixture,
    server,
    client,
    token,
    env,
    startAnother: (o = {}) => start({ ...overrides, ...o }),
    async close() {
      await Promise.all(servers.map((s) => s.close()))
      await fixture.cleanup()
    },
  }
}

/** All logs text of a result, joined. */
export const logsOf = (r: { outputs: { type: string; logs?: string }[] }) =>
  r.outputs
    .filter((o) => o.type === 'logs')
    .map((o) => o.logs)
    .join('')
