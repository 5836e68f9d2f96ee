// @ts-check
/**
 * Runs a set of long-lived child processes as one unit, the way `pnpm start` runs api, worker and
 * webhooks: output prefixed per child, all-or-nothing lifetime, graceful stop with a deadline.
 *
 * Contract:
 * - A child that exits while we are not stopping (any code, even 0) is a failure: the others get
 *   SIGTERM and `done` resolves with that child's code (1 if it was 0 or killed by a signal).
 * - `stop()` sends SIGTERM to every live child; stragglers get SIGKILL after `graceMs`.
 *   A second `stop()` (a second Ctrl-C) sends SIGKILL at once. `done` then resolves with code 0.
 * - Children run in their own process group (`detached`), so a terminal Ctrl-C reaches only the
 *   launcher and each service sees exactly one SIGTERM (BullMQ workers treat SIGTERM as
 *   "finish active jobs, then exit"; a second signal would often mean "force").
 */
import { spawn } from 'node:child_process'
import { createLinePrefixer } from './line-prefixer.mjs'

/**
 * @typedef {{ name: string, command: string, args: string[] }} ProcessSpec
 * @typedef {{ code: number, failed: string | null }} SupervisorResult
 *   `failed` names the child whose unexpected exit brought everything down, or null after stop().
 */

/**
 * @param {{
 *   processes: ProcessSpec[],
 *   env?: NodeJS.ProcessEnv,
 *   cwd?: string,
 *   graceMs?: number,
 *   write?: (text: string, stream: 'stdout' | 'stderr') => void,
 *   log?: (message: string) => void,
 * }} opts
 */
export function superviseProcesses({
  processes,
  env = process.env,
  cwd = process.cwd(),
  graceMs = 30_000,
  write = (text, stream) => process[stream].write(text),
  log = (message) => process.stderr.write(`[start] ${message}\n`),
}) {
  /** @type {Map<string, import('node:child_process').ChildProcess>} */
  const live = new Map()
  let stopping = false
  /** @type {SupervisorResult} */
  let result = { code: 0, failed: null }
  /** @type {NodeJS.Timeout | undefined} */
  let killTimer

  /** @type {(r: SupervisorResult) => void} */
  let resolveDone = () => {}
  /** @type {Promise<SupervisorResult>} */
  const done = new Promise((resolve) => {
    resolveDone = resolve
  })

  const killAll = (/** @type {NodeJS.Signals} */ signal) => {
    for (const child of live.values()) child.kill(signal)
  }

  const beginStop = () => {
    if (stopping) return
    stopping = true
    killAll('SIGTERM')
    killTimer = setTimeout(() => {
      if (live.size === 0) return
      log(`still running after ${graceMs / 1000} s: ${[...live.keys()].join(', ')}; sending SIGKILL`)
      killAll('SIGKILL')
    }, graceMs)
  }

  const onExit = (/** @type {string} */ name, /** @type {number | null} */ code, /** @type {string | null} */ signal) => {
    if (!live.has(name)) return
    live.delete(name)
    if (!stopping) {
      log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the others`)
      result = { code: code && code !== 0 ? code : 1, failed: name }
      beginStop()
    }
    if (live.size === 0) {
      clearTimeout(killTimer)
      resolveDone(result)
    }
  }

  const start = (/** @type {ProcessSpec} */ spec) => {
    const child = spawn(spec.command, spec.args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    live.set(spec.name, child)
    const out = createLinePrefixer(`[${spec.name}] `, (text) => write(text, 'stdout'))
    const err = createLinePrefixer(`[${spec.name}] `, (text) => write(text, 'stderr'))
    child.stdout?.on('data', (chunk) => out.push(chunk))
    child.stderr?.on('data', (chunk) => err.push(chunk))
    // 'close' (not 'exit') so the last lines are flushed before we report the exit.
    child.on('close', (code, signal) => {
      out.flush()
      err.flush()
      onExit(spec.name, code, signal)
    })
    child.on('error', (error) => {
      // Spawn failures (ENOENT, EACCES) emit 'error' and possibly no 'close'.
      if (child.pid === undefined) {
        log(`${spec.name} could not start: ${error.message}`)
        onExit(spec.name, 1, null)
      }
    })
  }

  for (const spec of processes) start(spec)
  if (live.size === 0) resolveDone(result)

  return {
    done,
    /** Names of children still running. */
    running: () => [...live.keys()],
    /**
     * Starts one more child into the unit (same env, cwd and lifetime rules), e.g. a service whose
     * setup finished after the others started. False, and nothing started, once stopping or done.
     */
    add(/** @type {ProcessSpec} */ spec) {
      if (stopping || live.size === 0) return false
      start(spec)
      return true
    },
    /** Graceful stop; a second call escalates to SIGKILL. */
    stop() {
      if (stopping) {
        if (live.size > 0) {
          log(`stopping now: SIGKILL to ${[...live.keys()].join(', ')}`)
          killAll('SIGKILL')
        }
        return done
      }
      beginStop()
      return done
    },
    /**
     * Signals every live child synchronously; for `process.on('exit')` when the launcher dies
     * without an orderly stop. SIGTERM by default so orphaned services still drain their jobs.
     */
    signalAll(/** @type {NodeJS.Signals} */ signal = 'SIGTERM') {
      killAll(signal)
    },
  }
}
