// @ts-check
/**
 * `pnpm start`: build the services, find or start Redis, run api + worker + webhooks as one unit.
 * `runLauncher` returns the exit code instead of exiting, and takes its collaborators as options,
 * so test/infra/launcher.test.ts can drive it with fake services and a throwaway Redis.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadDotenvFile } from './dotenv.mjs'
import { LauncherError, resolveRedis } from './embedded-redis.mjs'
import { prepareEmbeddedSandbox } from './embedded-sandbox.mjs'
import { createLinePrefixer } from './line-prefixer.mjs'
import { superviseProcesses } from './supervisor.mjs'

/** The services `pnpm start` runs, in start order. Each is `node services/<name>/dist/index.js`. */
export const SERVICES = /** @type {const} */ (['api', 'worker', 'webhooks'])

/** The shutdown signals we handle; SIGHUP covers a closed terminal (our children are detached). */
const SHUTDOWN_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])

/** A second shutdown signal within this time is the same request (see onSignal); later, it forces. */
const REPEAT_TO_FORCE_MS = 1500

/**
 * Builds the services with turbo (cached, so a no-op when nothing changed).
 * @param {string} root
 * @param {NodeJS.ProcessEnv} env
 */
export function buildServices(root, env) {
  // Under `pnpm start`, npm_execpath is pnpm's own entry point; prefer it over whatever is on PATH.
  const execpath = env.npm_execpath
  const [command, prefix] = execpath && /pnpm[^/\\]*\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : ['pnpm', []]
  const args = [...prefix, 'exec', 'turbo', 'run', 'build', '--filter=./services/*']
  // Quiet unless it fails: the build's own output is shown only then (issue 13, item 12).
  const result = spawnSync(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 })
  if (result.error) {
    throw new LauncherError(`Could not run pnpm (${result.error.message}). Install pnpm 10 and run \`pnpm install\` first.`)
  }
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`)
    throw new LauncherError(
      `Build failed: \`pnpm exec turbo run build --filter=./services/*\` exited with ${result.signal ?? `code ${result.status}`}. ` +
        'See the output above.',
    )
  }
}

/** `redis://user:secret@host` → `redis://user:***@host`, for log lines. */
export const redactUrl = (/** @type {string} */ url) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')

/**
 * @param {{
 *   root: string,
 *   argv?: string[],
 *   env?: NodeJS.ProcessEnv,
 *   signals?: NodeJS.EventEmitter,
 *   write?: (text: string, stream: 'stdout' | 'stderr') => void,
 *   redisPort?: number,
 *   graceMs?: number,
 *   build?: typeof buildServices,
 *   resolve?: typeof resolveRedis,
 *   sandbox?: typeof prepareEmbeddedSandbox,
 * }} opts
 * @returns {Promise<number>} the process exit code
 */
export async function runLauncher({
  root,
  argv = [],
  env = process.env,
  signals = process,
  write = (text, stream) => process[stream].write(text),
  redisPort = 6379,
  // Above the worker's default SHUTDOWN_GRACE_SECONDS (25 s), so it can hand back unfinished runs.
  graceMs = 30_000,
  build = buildServices,
  resolve = resolveRedis,
  sandbox = prepareEmbeddedSandbox,
}) {
  const log = (/** @type {string} */ message) => write(`[start] ${message}\n`, 'stderr')
  /** @type {Awaited<ReturnType<typeof resolveRedis>> | undefined} */
  let redis
  /** @type {ReturnType<typeof superviseProcesses> | undefined} */
  let supervisor
  let shutdownRequested = false
  let redisFailed = false

  let firstSignalAt = 0
  const onSignal = (/** @type {string} */ signal) => {
    // One Ctrl-C reaches us twice: from the terminal (our process group) and forwarded by pnpm
    // (`procInterrupt`), and pnpm follows its SIGINT with a SIGTERM when it exits. Only a repeat
    // after REPEAT_TO_FORCE_MS is a human asking to force.
    if (shutdownRequested && Date.now() - firstSignalAt < REPEAT_TO_FORCE_MS) return
    if (!shutdownRequested) firstSignalAt = Date.now()
    if (supervisor) {
      if (!shutdownRequested) log(`${signal}: stopping services (up to ${graceMs / 1000} s; Ctrl-C again to force)`)
      shutdownRequested = true
      void supervisor.stop()
    } else {
      shutdownRequested = true // still starting: stop as soon as the current step returns
    }
  }
  // Last resort if we die without an orderly stop (uncaught error): don't leave children behind.
  const onExit = () => {
    supervisor?.signalAll('SIGTERM')
    redis?.embedded?.child.kill('SIGTERM')
  }

  try {
    const loaded = loadDotenvFile(join(root, '.env'), env)
    if (loaded.length > 0) log(`loaded ${loaded.length} variable(s) from .env (already-set variables win)`)

    if (!argv.includes('--skip-build')) build(root, env)
    const missing = SERVICES.map((name) => join('services', name, 'dist', 'index.js')).filter((p) => !existsSync(join(root, p)))
    if (missing.length > 0) {
      throw new LauncherError(`Missing build output: ${missing.join(', ')}. Run \`pnpm build\` and check its output.`)
    }

    for (const signal of SHUTDOWN_SIGNALS) signals.on(signal, onSignal)
    signals.on('exit', onExit)

    const redisOut = createLinePrefixer('[redis] ', (text) => write(text, 'stderr'))
    redis = await resolve({ env, dataDir: join(root, '.data', 'redis'), port: redisPort, onOutput: (chunk) => redisOut.push(chunk) })
    const how = { env: 'from REDIS_URL', local: 'already running', embedded: `started by us, data in ${join('.data', 'redis')}` }
    log(`Redis: ${redactUrl(redis.url)} (${how[redis.source]})`)
    if (shutdownRequested) return 0

    // code_interpreter (services/sandbox) when built; see embedded-sandbox.mjs. Its first-run
    // install does not hold the API back: the sandbox joins the running unit when it is ready.
    const box = await sandbox({ root, env, log })
    if (shutdownRequested) return 0
    supervisor = superviseProcesses({
      processes: SERVICES.map((name) => ({ name, command: process.execPath, args: [join('services', name, 'dist', 'index.js')] })),
      env: { ...env, ...box?.env, REDIS_URL: redis.url },
      cwd: root,
      graceMs,
      write,
      log,
    })
    const running = supervisor
    redis.embedded?.exited.then(() => {
      if (shutdownRequested || running.running().length === 0) return
      redisFailed = true
      log('the embedded redis-server exited unexpectedly; stopping services')
      void running.stop()
    })
    log(`running ${SERVICES.join(', ')}; Ctrl-C to stop`)
    void box?.ready.then(() => {
      if (!shutdownRequested && running.add(box.process)) log('running sandbox (code_interpreter)')
    })

    const result = await supervisor.done
    if (result.failed === null && !redisFailed) log('all services stopped')
    return redisFailed ? 1 : result.code
  } catch (error) {
    if (!(error instanceof LauncherError)) throw error
    log(error.message)
    return 1
  } finally {
    // Stop Redis last: the services needed it to finish their in-flight jobs.
    if (redis?.embedded) {
      await redis.embedded.stop()
      log('embedded Redis stopped')
    }
    for (const signal of SHUTDOWN_SIGNALS) signals.off(signal, onSignal)
    signals.off('exit', onExit)
  }
}
