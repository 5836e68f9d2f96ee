import { randomBytes } from 'node:crypto'

/** Every object prefix Threadwork hands out (style §6). */
export type IdPrefix = 'asst' | 'thread' | 'msg' | 'run' | 'step' | 'call' | 'turn' | 'evt' | 'whe' | 'req' | 'dlv'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `newId('run')` → `run_` + 24 random base62 characters (≈143 bits). */
export function newId(prefix: IdPrefix): string {
  // Rejection sampling keeps the distribution uniform: 248 = 4 × 62.
  let out = ''
  while (out.length < 24) {
    for (const byte of randomBytes(32)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === 24) break
    }
  }
  return `${prefix}_${out}`
}

/** Integer Unix seconds, the only timestamp unit on the wire. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
