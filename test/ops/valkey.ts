import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const CACHE = fileURLToPath(new URL('../../node_modules/.cache/threadwork-valkey/', import.meta.url))
export const VALKEY = `${CACHE}root/usr/bin/valkey-server`

const runs = () => {
  try {
    return execFileSync(VALKEY, ['--version'], { encoding: 'utf8' }).startsWith('Valkey server')
  } catch {
    return false
  }
}

/**
 * A `valkey-server` ≥ 7.2 (Redis protocol, with WAITAOF) for the durability test: this machine's
 * Debian ships Redis 7.0, without WAITAOF. Valkey comes from Debian's bookworm-backports: the
 * packages are downloaded with a private apt list and unpacked under node_modules/.cache — nothing
 * is installed and no service is started. Not possible (no apt, not root): the caller skips.
 */
export function ensureValkey(): { ok: true } | { ok: false; reason: string } {
  if (existsSync(VALKEY) && runs()) return { ok: true }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'valkey-server is fetched with apt-get, which needs root' }
  try {
    const lists = `${CACHE}apt-lists/`
    mkdirSync(`${lists}partial`, { recursive: true })
    writeFileSync(`${CACHE}backports.list`, 'deb http://deb.debian.org/debian bookworm-backports main\n')
    const apt = ['-q', '-o', `Dir::Etc::sourcelist=${CACHE}backports.list`, '-o', 'Dir::Etc::sourceparts=-', '-o', `Dir::State::Lists=${lists}`]
    execFileSync('apt-get', [...apt, 'update'], { stdio: 'pipe', timeout: 180_000 })
    execFileSync('apt-get', [...apt, 'download', 'valkey-server', 'valkey-tools'], { cwd: CACHE, stdio: 'pipe', timeout: 180_000 })
    for (const deb of readdirSync(CACHE).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg-deb', ['-x', `${CACHE}${deb}`, `${CACHE}root`])
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1)
    return { ok: false, reason: `could not fetch valkey-server from bookworm-backports: ${stderr || (err as Error).message}` }
  }
  return runs() ? { ok: true } : { ok: false, reason: `${VALKEY} was unpacked but does not run` }
}
