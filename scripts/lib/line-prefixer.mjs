// @ts-check
/**
 * Prefixes every line of a child's output (`[api] …`) so three services can share one terminal.
 * A chunk may end mid-line or mid-character: partial lines wait for their newline, and a
 * StringDecoder keeps split UTF-8 sequences intact. Each complete line is written whole, so lines
 * from different services never interleave mid-line.
 */
import { StringDecoder } from 'node:string_decoder'

/**
 * @param {string} prefix e.g. `[api] `
 * @param {(text: string) => void} write receives whole, prefixed, `\n`-terminated lines
 * @returns {{ push(chunk: string | Buffer): void, flush(): void }}
 */
export function createLinePrefixer(prefix, write) {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  return {
    push(chunk) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk)
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      if (lines.length > 0) write(lines.map((line) => `${prefix}${line.replace(/\r$/, '')}\n`).join(''))
    },
    /** Writes a trailing line that never got its newline (call when the stream ends). */
    flush() {
      pending += decoder.end()
      if (pending !== '') write(`${prefix}${pending.replace(/\r$/, '')}\n`)
      pending = ''
    },
  }
}
