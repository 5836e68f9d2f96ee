// @ts-check
/**
 * The code_interpreter Python environment: a venv with the pinned stack of
 * services/sandbox/python/requirements.txt. `pnpm start` calls {@link ensureSandboxVenv} on first
 * run, the sandbox tests call it too, and `node scripts/sandbox-venv.mjs` runs it by hand.
 * infra/Dockerfile installs the same file with pip directly.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const MARKER = '.threadwork-requirements.sha256'
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/**
 * The Python the venv is built from: SANDBOX_PYTHON, else Debian's /usr/bin/python3 (readable by
 * the sandbox's unprivileged uids, unlike a pyenv under /root), else `python3` on PATH.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string | null}
 */
export function findPython(env = process.env) {
  const candidates = [env.SANDBOX_PYTHON, '/usr/bin/python3', 'python3'].filter((c) => typeof c === 'string' && c !== '')
  for (const python of /** @type {string[]} */ (candidates)) {
    const r = spawnSync(python, ['-c', 'import venv, ensurepip; import sys; print(sys.version_info >= (3, 10))'], { encoding: 'utf8' })
    if (r.status === 0 && r.stdout.trim() === 'True') return python
  }
  return null
}

/**
 * Whether bubblewrap is installed (the sandbox cannot run without it).
 * @returns {boolean}
 */
export const hasBwrap = () => spawnSync('bwrap', ['--version'], { stdio: 'ignore' }).status === 0

/**
 * @param {string} root repo root
 * @returns {{ requirements: string, hash: string }}
 */
function requirementsOf(root) {
  const requirements = join(root, 'services', 'sandbox', 'python', 'requirements.txt')
  return { requirements, hash: createHash('sha256').update(readFileSync(requirements)).digest('hex') }
}

/**
 * True when `venvDir` holds the current requirements (its marker matches requirements.txt).
 * @param {string} root
 * @param {string} venvDir
 */
export function venvIsCurrent(root, venvDir) {
  const marker = join(venvDir, MARKER)
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === requirementsOf(root).hash
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, logFd: number }} opts
 * @returns {Promise<number | NodeJS.Signals | null>} the exit code, or the signal that ended it
 */
function run(cmd, args, { env, logFd }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', logFd, logFd] })
    child.on('error', () => resolve(-1))
    child.on('close', (code, signal) => resolve(signal ?? code))
  })
}

/** Ctrl-C reaches pip too (same process group): an install stopped by it did not fail. */
const STOP_SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP'])
const interrupted = (/** @type {string} */ signal) =>
  /** @type {const} */ ({ ok: false, reason: `installing the Python environment was interrupted (${signal}); the next start installs it again` })

/**
 * Makes sure the venv exists and is current; installs it (minutes, the first time) if not. Safe
 * to call from several processes at once: one installs, the others wait for its lock.
 * @param {{ root: string, venvDir?: string, env?: NodeJS.ProcessEnv, onProgress?: (line: string) => void, lockTimeoutMs?: number }} opts
 * @returns {Promise<{ ok: true, venvDir: string, installed: boolean } | { ok: false, reason: string }>}
 */
export async function ensureSandboxVenv({ root, venvDir = join(root, '.data', 'sandbox-venv'), env = process.env, onProgress, lockTimeoutMs = 20 * 60_000 }) {
  if (venvIsCurrent(root, venvDir)) return { ok: true, venvDir, installed: false }
  const python = findPython(env)
  if (!python) return { ok: false, reason: 'python3 (3.10 or newer, with venv) not found: install it (Debian/Ubuntu: apt-get install -y python3 python3-venv).' }

  mkdirSync(dirname(venvDir), { recursive: true })
  const lock = `${venvDir}.lock`
  const deadline = Date.now() + lockTimeoutMs
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // Another process installs; a lock older than the timeout is from a crashed one.
      let age = 0
      try {
        age = Date.now() - statSync(lock).mtimeMs
      } catch {
        continue
      }
      if (age > lockTimeoutMs) rmSync(lock, { recursive: true, force: true })
      else if (Date.now() > deadline) return { ok: false, reason: `timed out waiting for another install of ${venvDir} (lock ${lock})` }
      await sleep(1000)
      if (venvIsCurrent(root, venvDir)) return { ok: true, venvDir, installed: false }
    }
  }
  const logFile = `${venvDir}-install.log`
  const logFd = openSync(logFile, 'w')
  try {
    if (venvIsCurrent(root, venvDir)) return { ok: true, venvDir, installed: false }
    onProgress?.(`installing the code_interpreter Python environment into ${venvDir} (first run; a few minutes; log: ${logFile})`)
    const { requirements, hash } = requirementsOf(root)
    rmSync(venvDir, { recursive: true, force: true })
    const pyEnv = { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONDONTWRITEBYTECODE: '' }
    const venvEnd = await run(python, ['-m', 'venv', venvDir], { env: pyEnv, logFd })
    if (typeof venvEnd === 'string' && STOP_SIGNALS.has(venvEnd)) return interrupted(venvEnd)
    if (venvEnd !== 0) {
      return { ok: false, reason: `\`${python} -m venv\` failed (see ${logFile}); on Debian/Ubuntu: apt-get install -y python3-venv` }
    }
    const pip = join(venvDir, 'bin', 'python')
    // Few retries: an unreachable index (offline mirror setups) should fail over fast, not back off for minutes.
    const code = await run(pip, ['-m', 'pip', 'install', '--no-input', '--retries', '1', '--timeout', '30', '-r', requirements], { env: pyEnv, logFd })
    if (typeof code === 'string' && STOP_SIGNALS.has(code)) return interrupted(code)
    if (code !== 0) return { ok: false, reason: `pip install -r ${requirements} failed (see ${logFile})` }
    // Build matplotlib's font cache once, here; kernel_host.py copies it into each session.
    const mplconfig = join(venvDir, 'share', 'threadwork-mplconfig')
    mkdirSync(mplconfig, { recursive: true })
    await run(pip, ['-c', 'import matplotlib.pyplot'], { env: { ...pyEnv, MPLCONFIGDIR: mplconfig, MPLBACKEND: 'Agg' }, logFd })
    // The sandbox runs as unprivileged uids: the venv must be readable by all whatever the umask.
    await run('chmod', ['-R', 'a+rX', venvDir], { logFd })
    writeFileSync(join(venvDir, MARKER), `${hash}\n`)
    return { ok: true, venvDir, installed: true }
  } finally {
    closeSync(logFd)
    rmSync(lock, { recursive: true, force: true })
  }
}
