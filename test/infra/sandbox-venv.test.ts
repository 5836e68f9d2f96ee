// scripts/lib/sandbox-venv.mjs: the code_interpreter venv `pnpm start` installs on first run.
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ensureSandboxVenv } from '../../scripts/lib/sandbox-venv.mjs'
import { tempDir } from './launcher-harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * A stand-in python3: passes findPython's check; `python3 -m venv` runs `venvEnd` when given (else
 * makes a venv whose python runs `pipEnd`).
 */
function fakePython(dir: string, { pipEnd = 'exit 0', venvEnd }: { pipEnd?: string; venvEnd?: string }): string {
  const python = join(dir, 'python3')
  const venv = venvEnd ?? `mkdir -p "$3/bin"; printf '#!/bin/sh\\n${pipEnd}\\n' > "$3/bin/python"; chmod +x "$3/bin/python"; exit 0`
  writeFileSync(
    python,
    ['#!/bin/sh', 'if [ "$1" = "-c" ]; then echo True; exit 0; fi', `if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then ${venv}; fi`, 'exit 1'].join('\n'),
  )
  chmodSync(python, 0o755)
  return python
}

describe('ensureSandboxVenv', () => {
  it('says an install stopped by Ctrl-C was interrupted, not that pip failed', async () => {
    const dir = tempDir('sandbox-venv')
    const result = await ensureSandboxVenv({
      root,
      venvDir: join(dir, 'venv'),
      env: { ...process.env, SANDBOX_PYTHON: fakePython(dir, { pipEnd: 'kill -INT $$' }) },
    })
    expect(result).toEqual({ ok: false, reason: 'installing the Python environment was interrupted (SIGINT); the next start installs it again' })
  })

  it('says so too when Ctrl-C stops the venv step', async () => {
    const dir = tempDir('sandbox-venv')
    const result = await ensureSandboxVenv({
      root,
      venvDir: join(dir, 'venv'),
      env: { ...process.env, SANDBOX_PYTHON: fakePython(dir, { venvEnd: 'kill -TERM $$' }) },
    })
    expect(result).toEqual({ ok: false, reason: 'installing the Python environment was interrupted (SIGTERM); the next start installs it again' })
  })

  it('still says pip failed when it exits with an error', async () => {
    const dir = tempDir('sandbox-venv')
    const result = await ensureSandboxVenv({ root, venvDir: join(dir, 'venv'), env: { ...process.env, SANDBOX_PYTHON: fakePython(dir, { pipEnd: 'exit 1' }) } })
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^pip install -r .*requirements\.txt failed \(see .*venv-install\.log\)$/) })
  })
})
