/**
 * Reads one string field out of a JSON object while it is still being written, for streaming a
 * tool call's `code` as the model produces its arguments (`{"code": "import …`): each `push` of an
 * argument fragment returns the newly decoded characters of the field's value ('' if none yet).
 * Handles JSON escapes split across fragments (`\`, `\u00e9`). Only a top-level key is matched;
 * arguments that are not shaped `{"<field>": "<string>", …}` yield nothing, and the caller falls
 * back to the whole decoded value at the end.
 */
export function createJsonStringFieldReader(field: string) {
  let buffer = ''
  /** Where the value's content starts in `buffer` (-1: not found yet), and how far it was decoded. */
  let start = -1
  let pos = 0
  let done = false
  const keyPattern = new RegExp(`^\\s*\\{\\s*(?:"(?:[^"\\\\]|\\\\.)*"\\s*:\\s*(?:"(?:[^"\\\\]|\\\\.)*"|[^,{}\\[\\]"]*)\\s*,\\s*)*"${field}"\\s*:\\s*"`)
  const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

  return {
    push(fragment: string): string {
      buffer += fragment
      if (done) return ''
      if (start < 0) {
        const m = keyPattern.exec(buffer)
        if (!m) return ''
        start = m[0].length
        pos = start
      }
      let out = ''
      while (pos < buffer.length) {
        const ch = buffer[pos]!
        if (ch === '"') {
          done = true
          break
        }
        if (ch !== '\\') {
          out += ch
          pos++
          continue
        }
        const next = buffer[pos + 1]
        if (next === undefined) break
        if (next === 'u') {
          const hex = buffer.slice(pos + 2, pos + 6)
          if (hex.length < 4) break
          out += String.fromCharCode(Number.parseInt(hex, 16))
          pos += 6
          continue
        }
        out += ESCAPES[next] ?? next
        pos += 2
      }
      return out
    },
  }
}
