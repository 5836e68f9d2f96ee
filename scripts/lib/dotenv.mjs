// @ts-check
/**
 * A small `.env` reader: `KEY=VALUE` lines, `#` comments, optional `export `, single or double
 * quotes (double quotes understand `\n`, `\t`, `\"`, `\\`). Multi-line values are not supported.
 * Variables already set in the environment win, as with `node --env-file` and dotenv.
 */
import { existsSync, readFileSync } from 'node:fs'

/** @type {Record<string, string | undefined>} */
const ESCAPES = { n: '\n', r: '\r', t: '\t' }

/**
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseDotenv(text) {
  /** @type {Record<string, string>} */
  const out = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line)
    if (!match) continue
    const key = /** @type {string} */ (match[1])
    let value = /** @type {string} */ (match[2])
    if (value.startsWith('"')) {
      // Closing quote = the first one not preceded by a backslash escape.
      let end = 1
      while (end < value.length && value[end] !== '"') end += value[end] === '\\' ? 2 : 1
      if (end < value.length) {
        value = value.slice(1, end).replace(/\\(.)/g, (_, c) => ESCAPES[c] ?? c)
        out[key] = value
        continue
      }
    } else if (value.startsWith("'") && value.indexOf("'", 1) > 0) {
      out[key] = value.slice(1, value.indexOf("'", 1))
      continue
    }
    value = value.replace(/\s+#.*$/, '').trim() // unquoted: ` # comment` ends the value
    out[key] = value
  }
  return out
}

/**
 * Copies `vars` into `target` without overriding keys already present. Returns the keys it set.
 * @param {Record<string, string | undefined>} target
 * @param {Record<string, string>} vars
 * @returns {string[]}
 */
export function applyEnv(target, vars) {
  const applied = []
  for (const [key, value] of Object.entries(vars)) {
    if (target[key] !== undefined) continue
    target[key] = value
    applied.push(key)
  }
  return applied
}

/**
 * Loads `path` into `target` if the file exists. Returns the keys it set (empty when no file).
 * @param {string} path
 * @param {Record<string, string | undefined>} target
 */
export function loadDotenvFile(path, target) {
  if (!existsSync(path)) return []
  return applyEnv(target, parseDotenv(readFileSync(path, 'utf8')))
}
