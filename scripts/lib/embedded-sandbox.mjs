// @ts-check
/**
 * `pnpm start`'s code_interpreter sandbox: services/sandbox beside api, worker and webhooks.
 * With python3 and bubblewrap present, the Python environment is installed on first run (one
 * progress line; about a minute), while api, worker and webhooks already run: the sandbox starts
 * when it is ready (`ready`), and code_interpreter runs fail until then, saying so. Without them the service still runs: its self-check fails, and it
 * records why in Redis, so a run using code_interpreter fails with a message naming what to
 * install. SANDBOX=off leaves it out (runs then fail with the generic "no sandbox" message).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ensureSandboxVenv, findPython, hasBwrap } from './sandbox-venv.mjs'

/**
 * @param {{ root: string, env: NodeJS.ProcessEnv, log: (message: string) => void }} opts
 * @returns {Promise<{ process: { name: string, command: string, args: string[] }, env: Record<string, string>, ready: Promise<void> } | null>}
 *   the process to supervise once `ready` resolves (the environment installed, or found impossible:
 *   never rejects) and the variables every service gets (the worker needs the token), or null
 */
export async function prepareEmbeddedSandbox({ root, env, log }) {
  const dist = join('services', 'sandbox', 'dist', 'index.js')
  if (env.SANDBOX === 'off') {
    log('code_interpreter sandbox off (SANDBOX=off)')
    return null
  }
  if (!existsSync(join(root, dist))) return null
  const missing = [findPython(env) ? null : 'python3 (with venv)', hasBwrap() ? null : 'bubblewrap'].filter(Boolean)
  let ready = Promise.resolve()
  if (missing.length > 0) {
    log(`code_interpreter unavailable: ${missing.join(' and ')} not installed (Debian/Ubuntu: apt-get install -y python3 python3-venv bubblewrap); runs using it will fail saying so`)
  } else {
    ready = ensureSandboxVenv({ root, venvDir: env.SANDBOX_VENV || undefined, env, onProgress: log }).then(
      (venv) => {
        if (!venv.ok) log(`code_interpreter unavailable: ${venv.reason}`)
      },
      (err) => log(`code_interpreter unavailable: ${err instanceof Error ? err.message : String(err)}`),
    )
  }
  return {
    ready,
    process: { name: 'sandbox', command: process.execPath, args: [dist] },
    env: {
      // Generated per start when unset: only this launcher's worker and sandbox share it.
      SANDBOX_TOKEN: env.SANDBOX_TOKEN || randomBytes(24).toString('hex'),
      // Any free loopback port: the sandbox registers its URL in Redis, where the worker finds it.
      SANDBOX_PORT: env.SANDBOX_PORT || '0',
    },
  }
}
