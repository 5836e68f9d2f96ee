import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type BwrapCommandInput, bwrapCommand, sandboxSpawnEnv } from './bwrap-command.js'

/**
 * Directories the venv's base Python needs inside the sandbox: the `home` of pyvenv.cfg's parent
 * when it is outside /usr (pyenv, a custom prefix). Empty for Debian's /usr/bin/python3.
 */
export function basePythonDirs(venvDir: string): string[] {
  const cfg = readFileSync(join(venvDir, 'pyvenv.cfg'), 'utf8')
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim()
  if (!home) return []
  const prefix = dirname(home)
  return prefix === '/usr' || prefix.startsWith('/usr/') ? [] : [prefix]
}

/**
 * /etc/passwd and /etc/group for inside the sandbox: one user, `sandbox` (1000), in a temp
 * directory of their own. `remove()` deletes it (the server's close; every start had left one in
 * /tmp). Running sandboxes keep their bind mounts of the files.
 */
export function writeIdentityFiles(): { passwdFile: string; groupFile: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'threadwork-sandbox-'))
  // Readable by the per-session uids, which bwrap runs as when it binds them.
  chmodSync(dir, 0o755)
  const passwdFile = join(dir, 'passwd')
  const groupFile = join(dir, 'group')
  writeFileSync(passwdFile, 'sandbox:x:1000:1000:code interpreter:/tmp/home:/usr/sbin/nologin\n', { mode: 0o644 })
  writeFileSync(groupFile, 'sandbox:x:1000:\n', { mode: 0o644 })
  return { passwdFile, groupFile, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

const onPath = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { env: sandboxSpawnEnv() }).status === 0

/**
 * Why this host cannot run sandboxes, or null: the tools on PATH, the venv, then a real sandbox
 * that imports the kernel stack (catches a kernel without user namespaces, an unreadable Python).
 */
export async function selfCheck(input: BwrapCommandInput, timeoutMs = 120_000): Promise<string | null> {
  const missing = ['bwrap', 'prlimit', ...(input.uid !== null ? ['setpriv'] : [])].filter((t) => !onPath(t))
  if (missing.length > 0) {
    return `${missing.join(' and ')} not found: install bubblewrap and util-linux (Debian/Ubuntu: apt-get install -y bubblewrap util-linux).`
  }
  const python = join(input.venvDir, 'bin', 'python')
  if (!existsSync(python)) {
    return `The code_interpreter Python environment is missing at ${input.venvDir}: run \`node scripts/sandbox-venv.mjs\` (needs python3 with venv; Debian: apt-get install -y python3 python3-venv).`
  }
  const { file, args } = bwrapCommand({ ...input, command: [python, '-c', 'import ipykernel, jupyter_client, numpy, pandas, matplotlib; print("sandbox-ok")'] })
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(file, args, { env: sandboxSpawnEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-2000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => resolve({ code: -1, out: err.message }))
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
  if (result.code === 0 && result.out.includes('sandbox-ok')) return null
  return `A test sandbox failed (exit ${result.code}): ${result.out.trim().split('\n').slice(-3).join(' | ')}. Check that bubblewrap works here (user namespaces enabled) and that ${input.venvDir} and its base Python are readable by unprivileged users.`
}
