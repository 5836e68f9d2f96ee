import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Debian's `chromium` (playwright-core never downloads a browser). Missing, it is installed with
 * apt-get when running as root; otherwise returns why it cannot be, and the caller skips.
 */
export function ensureChromium(): { ok: true } | { ok: false; reason: string } {
  if (existsSync(CHROMIUM)) return { ok: true }
  if (process.getuid?.() !== 0) return { ok: false, reason: `${CHROMIUM} is missing and this is not root: run \`apt-get install -y chromium\`` }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 })
    execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'ignore', env, timeout: 600_000 })
  } catch (err) {
    return { ok: false, reason: `apt-get install chromium failed: ${(err as Error).message}` }
  }
  return existsSync(CHROMIUM) ? { ok: true } : { ok: false, reason: `apt-get ran but ${CHROMIUM} is still missing` }
}

/** Headless Chromium with no network of its own (no updates, sync, QUIC or background fetches). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
