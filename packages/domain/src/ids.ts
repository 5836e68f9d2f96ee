import { randomBytes } from 'node:crypto'

/** Every object prefix Threadwork hands out (style §6). */
export type IdPrefix = 'asst' | 'thread' | 'msg' | 'run' | 'step' | 'call' | 'turn' | 'evt' | 'whe' | 'req' | 'dlv' | 'upload' | 'part' | 'vs' | 'vsfb'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `n` random base62 characters; rejection sampling keeps the distribution uniform: 248 = 4 × 62. */
function base62(n: number): string {
  let out = ''
  while (out.length < n) {
    for (const byte of randomBytes(32)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === n) break
    }
  }
  return out
}

/** `newId('run')` → `run_` + 24 random base62 characters (≈143 bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base62(24)}`
}

/** A file id as OpenAI makes them today: `file-` + 22 base62 characters (≈131 bits). */
export const newFileId = (): string => `file-${base62(22)}`

/** Matches ids from {@link newFileId}. */
export const FILE_ID_PATTERN = /^file-[0-9A-Za-z]{22}$/

/** Integer Unix seconds, the only timestamp unit on the wire. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
