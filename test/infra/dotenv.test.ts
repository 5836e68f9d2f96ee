// scripts/lib/dotenv.mjs: the .env loader `pnpm start` uses.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyEnv, loadDotenvFile, parseDotenv } from '../../scripts/lib/dotenv.mjs'
import { tempDir } from './launcher-harness.js'

describe('dotenv', () => {
  it('parses KEY=VALUE, comments, export, and quotes', () => {
    const vars = parseDotenv(
      [
        '# comment',
        '',
        'PLAIN=value',
        'SPACED = padded value  # trailing comment',
        'export EXPORTED=yes',
        'DOUBLE="line1\\nline2 # not a comment"',
        "SINGLE='raw \\n $HOME'",
        'ESCAPED="say \\"hi\\""',
        'EMPTY=',
        'URL=redis://:p#ss@host:6379/0',
        'not a valid line',
      ].join('\r\n'),
    )
    expect(vars).toEqual({
      PLAIN: 'value',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      DOUBLE: 'line1\nline2 # not a comment',
      SINGLE: 'raw \\n $HOME',
      ESCAPED: 'say "hi"',
      EMPTY: '',
      URL: 'redis://:p#ss@host:6379/0',
    })
  })

  it('never overrides variables that are already set', () => {
    const env: Record<string, string | undefined> = { A: 'from-shell', EMPTY: '' }
    expect(applyEnv(env, { A: 'from-file', B: 'b', EMPTY: 'x' })).toEqual(['B'])
    expect(env).toEqual({ A: 'from-shell', B: 'b', EMPTY: '' })
  })

  it('loads a file when present and ignores a missing one', () => {
    const dir = tempDir('dotenv')
    const env: Record<string, string | undefined> = {}
    expect(loadDotenvFile(join(dir, '.env'), env)).toEqual([])
    writeFileSync(join(dir, '.env'), 'X=1\n')
    expect(loadDotenvFile(join(dir, '.env'), env)).toEqual(['X'])
    expect(env.X).toBe('1')
  })
})
