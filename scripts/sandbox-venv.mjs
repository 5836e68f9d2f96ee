#!/usr/bin/env node
// @ts-check
/**
 * Installs (or checks) the code_interpreter Python environment: a venv at .data/sandbox-venv (or
 * SANDBOX_VENV) with services/sandbox/python/requirements.txt. `pnpm start` does this on first run.
 */
import { fileURLToPath } from 'node:url'
import { ensureSandboxVenv } from './lib/sandbox-venv.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const result = await ensureSandboxVenv({ root, venvDir: process.env.SANDBOX_VENV || undefined, onProgress: (line) => process.stderr.write(`${line}\n`) })
if (result.ok) process.stderr.write(`${result.installed ? 'installed' : 'up to date'}: ${result.venvDir}\n`)
else process.stderr.write(`${result.reason}\n`)
process.exitCode = result.ok ? 0 : 1
