// @ts-check
/**
 * Where `pnpm start` gets Redis from: `REDIS_URL` as given, else a Redis already answering on
 * 127.0.0.1:6379, else a `redis-server` child we start (and stop) ourselves, else a clear error.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { probeRedis, probeRedisReply } from './redis-probe.mjs'

/** A failure the launcher reports as one human message (no stack trace) and exit 1. */
export class LauncherError extends Error {}

export const REDIS_HOWTO = [
  'No Redis found: REDIS_URL is unset, nothing answers PING on 127.0.0.1:6379, and there is no `redis-server` on PATH.',
  'Get one of:',
  '  • Debian/Ubuntu: sudo apt-get install redis-server   (Fedora: dnf install redis, Arch: pacman -S redis, macOS: brew install redis)',
  '  • Docker:        docker compose -f infra/docker-compose.yml up -d redis',
  '  • any Redis ≥ 7 you already run: REDIS_URL=redis://host:6379 pnpm start',
].join('\n')

/**
 * `redis-server` arguments for the embedded development Redis. Mirrors infra/redis.conf on the
 * settings BullMQ depends on: AOF fsynced on every write (`always`: Debian's Redis 7.0 has no
 * WAITAOF, and a development box writes little, so the API's 2xx can honestly mean "on disk" and
 * it has nothing to warn about), and `noeviction`,
 * the only policy under which BullMQ's queues stay correct. RDB snapshots are off (`save ""`):
 * the AOF is the persistence.
 * @param {{ port: number, dir: string }} opts
 * @returns {string[]}
 */
export function embeddedRedisArgs({ port, dir }) {
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--maxmemory-policy', 'noeviction',
    '--save', '',
    '--dir', dir,
  ]
}

/**
 * The absolute path of an executable on PATH, or null.
 * @param {string} name
 * @param {string | undefined} [pathEnv]
 */
export function findOnPath(name, pathEnv = process.env.PATH) {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return null
}

/**
 * @typedef {object} EmbeddedRedis
 * @property {string} url
 * @property {import('node:child_process').ChildProcess} child
 * @property {Promise<void>} exited resolves when the server process has exited
 * @property {(timeoutMs?: number) => Promise<void>} stop SIGTERM (Redis fsyncs the AOF and exits), SIGKILL after timeoutMs
 */

/**
 * Starts `redis-server` and resolves once it answers PING. Rejects (and kills it) if it exits
 * first, e.g. because the port is taken, or is not ready within `readyTimeoutMs`.
 * The child gets its own process group (`detached`) so a terminal Ctrl-C reaches only the
 * launcher, which stops Redis last, after the services have drained.
 * @param {{ bin?: string, port: number, dir: string, readyTimeoutMs?: number, onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void }} opts
 * @returns {Promise<EmbeddedRedis>}
 */
export async function startEmbeddedRedis({ bin = 'redis-server', port, dir, readyTimeoutMs = 10_000, onOutput }) {
  mkdirSync(dir, { recursive: true })
  const child = spawn(bin, [...embeddedRedisArgs({ port, dir }), '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let tail = ''
  for (const stream of /** @type {const} */ (['stdout', 'stderr'])) {
    child[stream].on('data', (/** @type {Buffer} */ chunk) => {
      tail = (tail + chunk.toString()).slice(-2000)
      onOutput?.(chunk, stream)
    })
  }
  /** @type {{ code: number | null, signal: NodeJS.Signals | null, error?: Error } | null} */
  let exitInfo = null
  const exited = new Promise((resolve) => {
    child.on('error', (error) => {
      exitInfo = { code: null, signal: null, error }
      resolve(undefined)
    })
    child.on('exit', (code, signal) => {
      exitInfo ??= { code, signal }
      resolve(undefined)
    })
  })

  const stop = async (timeoutMs = 10_000) => {
    if (exitInfo) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }

  const deadline = Date.now() + readyTimeoutMs
  while (!(await probeRedis({ host: '127.0.0.1', port, timeoutMs: 250 }))) {
    if (exitInfo) {
      const info = /** @type {{ code: number | null, signal: string | null, error?: Error }} */ (exitInfo)
      const why = info.error ? info.error.message : `exited with ${info.signal ?? `code ${info.code}`}`
      throw new LauncherError(`redis-server ${why} before answering PING on 127.0.0.1:${port}.\n${tail.trim()}`)
    }
    if (Date.now() > deadline) {
      await stop(1000)
      throw new LauncherError(`redis-server did not answer PING on 127.0.0.1:${port} within ${readyTimeoutMs} ms.\n${tail.trim()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url: `redis://127.0.0.1:${port}`, child, exited: /** @type {Promise<void>} */ (exited), stop }
}

/**
 * @typedef {{ url: string, source: 'env' | 'local' | 'embedded', embedded?: EmbeddedRedis }} ResolvedRedis
 */

/**
 * Decides which Redis the services use (see the module comment). Dependencies are injectable so
 * each branch can be tested without touching port 6379.
 * @param {{
 *   env: Record<string, string | undefined>,
 *   dataDir: string,
 *   port?: number,
 *   probe?: typeof probeRedisReply,
 *   findBinary?: typeof findOnPath,
 *   startEmbedded?: typeof startEmbeddedRedis,
 *   onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void,
 * }} opts
 * @returns {Promise<ResolvedRedis>}
 */
export async function resolveRedis({
  env,
  dataDir,
  port = 6379,
  probe = probeRedisReply,
  findBinary = findOnPath,
  startEmbedded = startEmbeddedRedis,
  onOutput,
}) {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'env' }
  const reply = await probe({ host: '127.0.0.1', port, timeoutMs: 500 })
  if (reply === '+PONG') return { url: `redis://127.0.0.1:${port}`, source: 'local' }
  if (reply !== null) {
    // Typically `-NOAUTH Authentication required.`: a Redis is there but needs credentials.
    throw new LauncherError(
      `Something on 127.0.0.1:${port} answered PING with ${JSON.stringify(reply)}.\n` +
        `Set REDIS_URL to reach it (e.g. REDIS_URL=redis://:password@127.0.0.1:${port}), or free the port.`,
    )
  }
  const bin = findBinary('redis-server', env.PATH)
  if (!bin) throw new LauncherError(REDIS_HOWTO)
  const embedded = await startEmbedded({ bin, port, dir: dataDir, onOutput })
  return { url: embedded.url, source: 'embedded', embedded }
}
