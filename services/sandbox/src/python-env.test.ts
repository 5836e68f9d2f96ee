import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeIdentityFiles } from './python-env.js'

describe('writeIdentityFiles', () => {
  it('writes the sandbox user and group, readable by every uid, and removes their directory when asked', () => {
    const identity = writeIdentityFiles()
    const dir = dirname(identity.passwdFile)
    expect(dirname(identity.groupFile)).toBe(dir)
    expect(readFileSync(identity.passwdFile, 'utf8')).toBe('sandbox:x:1000:1000:code interpreter:/tmp/home:/usr/sbin/nologin\n')
    expect(readFileSync(identity.groupFile, 'utf8')).toBe('sandbox:x:1000:\n')
    expect(statSync(dir).mode & 0o777).toBe(0o755)
    expect(statSync(identity.passwdFile).mode & 0o777).toBe(0o644)
    identity.remove()
    expect(existsSync(dir)).toBe(false)
    // Twice is harmless (a close after a failed start).
    identity.remove()
  })
})
