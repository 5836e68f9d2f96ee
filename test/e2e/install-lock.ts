import { mkdirSync, rmSync, statSync } from 'node:fs'

/**
 * Runs `install` while holding a lock directory at `lockPath`, so that test files running in
 * parallel (vitest forks) install a shared cache once instead of over each other: the others wait,
 * then find it installed. A lock older than `staleMs` is from a crashed process and is taken over.
 * Synchronous (test files call their installers at module load). Throws when the wait exceeds
 * `staleMs`.
 */
export function withInstallLock<T>(lockPath: string, install: () => T, staleMs = 10 * 60_000): T {
  const deadline = Date.now() + staleMs
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      mkdirSync(lockPath, { recursive: false })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let age: number
    try {
      age = Date.now() - statSync(lockPath).mtimeMs
    } catch {
      continue // released meanwhile
    }
    if (age > staleMs) rmSync(lockPath, { recursive: true, force: true })
    else if (Date.now() > deadline) throw new Error(`timed out waiting for another process's install (lock ${lockPath})`)
    else Atomics.wait(sleeper, 0, 0, 250)
  }
  try {
    return install()
  } finally {
    rmSync(lockPath, { recursive: true, force: true })
  }
}
