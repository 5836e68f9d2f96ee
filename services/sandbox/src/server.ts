import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import type { SandboxEnv } from '@threadwork/config'
import { sandboxKeys, startHeartbeat } from '@threadwork/sandbox-client'
import type { Redis } from 'ioredis'
import { createApp } from './app.js'
import { type SandboxLimits, bwrapCommand } from './bwrap-command.js'
import { basePythonDirs, selfCheck, writeIdentityFiles } from './python-env.js'
import { SessionPool } from './session-pool.js'

const MiB = 1024 * 1024

/** The repo's default venv: <repo>/.data/sandbox-venv (this file is src/ or dist/ of services/sandbox). */
export const defaultVenvDir = () => fileURLToPath(new URL('../../../.data/sandbox-venv', import.meta.url))
const hostScript = () => fileURLToPath(new URL('../python/kernel_host.py', import.meta.url))

export interface SandboxServer {
  /** The base URL registered in Redis. */
  url: string
  /** Null when healthy; else why this host does not take sessions. */
  unhealthy: string | null
  pool: SessionPool
  close(): Promise<void>
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void

/**
 * Starts one sandbox host: checks that a sandbox works here, serves the API, and registers in
 * Redis (heartbeat) once healthy. Unhealthy, it still serves /healthz and records its reason in
 * Redis, so a run's error says what to install.
 */
export async function startSandboxServer(env: SandboxEnv, deps: { redis: Redis; log: Log }): Promise<SandboxServer> {
  const venvDir = env.SANDBOX_VENV ?? defaultVenvDir()
  const limits: SandboxLimits = {
    memoryMb: env.SANDBOX_MEMORY_MB,
    cpuSeconds: env.SANDBOX_CPU_SECONDS,
    maxProcesses: env.SANDBOX_MAX_PROCESSES,
    diskMb: env.SANDBOX_DISK_MB,
    tmpMb: env.SANDBOX_TMP_MB,
  }
  const root = process.getuid?.() === 0
  if (!root) deps.log('warn', 'not running as root: every session runs as this service user, so the process limit is shared by all sessions')
  const { remove: removeIdentityFiles, ...identity } = writeIdentityFiles()
  let extraReadOnly: string[] = []
  try {
    extraReadOnly = basePythonDirs(venvDir)
  } catch {
    // No venv: selfCheck says so.
  }
  const input = (uid: number | null) => ({ venvDir, extraReadOnly, hostScript: hostScript(), ...identity, limits, uid })
  let unhealthy = await selfCheck(input(root ? env.SANDBOX_UID_BASE + env.SANDBOX_MAX_SESSIONS : null))
  const maxFileBytes = env.SANDBOX_MAX_FILES_MB * MiB

  const pool = new SessionPool({
    command: (uid) => bwrapCommand(input(uid)),
    maxSessions: env.SANDBOX_MAX_SESSIONS,
    idleTimeoutMs: env.SANDBOX_IDLE_TIMEOUT_SECONDS * 1000,
    uidBase: root ? env.SANDBOX_UID_BASE : null,
    // A base64 line of the largest file set, plus room for the JSON around it.
    maxLineBytes: Math.ceil((maxFileBytes * 4) / 3) + 16 * MiB,
    log: (msg, fields) => deps.log('info', msg, fields),
    spares: unhealthy ? 0 : env.SANDBOX_PREWARM,
  })
  const app = createApp({
    pool,
    token: env.SANDBOX_TOKEN,
    limits: {
      timeoutMs: env.SANDBOX_EXECUTION_TIMEOUT_MS,
      maxTimeoutMs: env.SANDBOX_MAX_EXECUTION_TIMEOUT_MS,
      maxOutputChars: env.SANDBOX_MAX_OUTPUT_CHARS,
      maxImages: env.SANDBOX_MAX_IMAGES,
      maxFileBytes,
      interruptGraceMs: 5_000,
    },
    // Input files arrive base64 in JSON: the disk size, a third more, and room for the code.
    maxRequestBytes: Math.ceil((env.SANDBOX_DISK_MB * MiB * 4) / 3) + 2 * MiB,
    unhealthy: () => unhealthy,
    log: (level, msg, fields) => deps.log(level, msg, fields),
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: env.SANDBOX_PORT, hostname: env.SANDBOX_HOST }, () => resolve(s))
  })
  // Idle keep-alive connections are closed by the client (undici: after ~4 s), never by us: a
  // server-side close racing a worker's next POST resets it mid-body (seen with 40 MB of input
  // files), and an execute POST is not safe to retry blindly.
  ;(server as { keepAliveTimeout?: number }).keepAliveTimeout = 0
  const port = (server.address() as AddressInfo).port
  const url = env.SANDBOX_ADVERTISE_URL?.replace(/\/$/, '') ?? `http://${env.SANDBOX_HOST.includes(':') ? `[${env.SANDBOX_HOST}]` : env.SANDBOX_HOST}:${port}`

  const keys = sandboxKeys(env.REDIS_PREFIX)
  const heartbeat = startHeartbeat({
    redis: deps.redis,
    prefix: env.REDIS_PREFIX,
    url,
    sessions: () => pool.size,
    onError: (err) => deps.log('warn', 'sandbox heartbeat failed', { err: err.message }),
  })
  let reasonTimer: NodeJS.Timeout | undefined
  if (unhealthy) {
    deps.log('error', `sandbox self-check failed; this host takes no sessions: ${unhealthy}`)
    const record = () => deps.redis.set(keys.unavailable, `code_interpreter is unavailable: ${unhealthy}`, 'EX', 60).catch(() => undefined)
    await record()
    reasonTimer = setInterval(record, 20_000)
    reasonTimer.unref()
    await heartbeat.stop()
  } else {
    await heartbeat.beat().catch((err: Error) => deps.log('warn', 'sandbox registration failed; retrying', { err: err.message }))
  }

  return {
    url,
    get unhealthy() {
      return unhealthy
    },
    set unhealthy(v) {
      unhealthy = v
    },
    pool,
    async close() {
      clearInterval(reasonTimer)
      await heartbeat.stop().catch(() => undefined)
      await pool.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      await closed
      removeIdentityFiles()
    },
  }
}
