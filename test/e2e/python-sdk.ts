import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { withInstallLock } from './install-lock.js'

/** The openai-python release the Python end-to-end tests pin (the 2.x line still has `beta.threads`). */
export const OPENAI_PYTHON_VERSION = '2.54.0'

const VENV = fileURLToPath(new URL(`../../node_modules/.cache/threadwork-python/openai-${OPENAI_PYTHON_VERSION}/`, import.meta.url))
const PYTHON = `${VENV}bin/python`
const SCRIPT = fileURLToPath(new URL('./python/assistants_scenarios.py', import.meta.url))

const importsOpenAI = () => {
  try {
    return execFileSync(PYTHON, ['-c', 'import openai; print(openai.__version__)'], { encoding: 'utf8' }).trim() === OPENAI_PYTHON_VERSION
  } catch {
    return false
  }
}

/**
 * A virtualenv with the pinned `openai` package, made once under node_modules/.cache. pip uses
 * the machine's own configuration (index, mirrors); without python3 or the package the caller
 * skips and says why.
 */
export function ensurePythonSdk(): { ok: true } | { ok: false; reason: string } {
  if (existsSync(PYTHON) && importsOpenAI()) return { ok: true }
  mkdirSync(dirname(VENV.replace(/\/$/, '')), { recursive: true })
  // Several test files ask at once (parallel forks): one installs, the others wait and reuse it,
  // including a failure, which is not retried by every file for minutes each.
  return withInstallLock(`${VENV.replace(/\/$/, '')}.lock`, () => {
    if (existsSync(PYTHON) && importsOpenAI()) return { ok: true } as const
    const failed = `${VENV.replace(/\/$/, '')}.failed`
    if (existsSync(failed) && Date.now() - statSync(failed).mtimeMs < 15 * 60_000) return { ok: false, reason: readFileSync(failed, 'utf8') } as const
    try {
      execFileSync('python3', ['-m', 'venv', '--clear', VENV], { stdio: 'pipe', timeout: 180_000 })
      execFileSync(`${VENV}bin/pip`, ['install', '--quiet', `openai==${OPENAI_PYTHON_VERSION}`], {
        stdio: 'pipe',
        timeout: 300_000,
        env: { ...process.env, PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
      })
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1)
      const reason = `could not install openai==${OPENAI_PYTHON_VERSION} for Python: ${stderr || (err as Error).message}`
      writeFileSync(failed, reason)
      return { ok: false, reason } as const
    }
    rmSync(failed, { force: true })
    return importsOpenAI() ? ({ ok: true } as const) : ({ ok: false, reason: `openai==${OPENAI_PYTHON_VERSION} installed but does not import` } as const)
  })
}

const run = promisify(execFile)

/**
 * Runs one scenario of python/assistants_scenarios.py (or `opts.script`, a file in python/) and
 * returns the JSON it printed. `opts.env` adds variables for the script.
 */
export async function pythonScenario<T>(
  scenario: string,
  env: { baseURL: string; apiKey: string; assistantId: string },
  opts: { script?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<T> {
  const script = opts.script ? fileURLToPath(new URL(`./python/${opts.script}`, import.meta.url)) : SCRIPT
  const { stdout } = await run(PYTHON, [script, scenario], {
    timeout: opts.timeoutMs ?? 60_000,
    env: { PATH: process.env.PATH ?? '', TW_BASE_URL: env.baseURL, TW_API_KEY: env.apiKey, TW_ASSISTANT_ID: env.assistantId, ...opts.env },
  })
  return JSON.parse(stdout) as T
}
