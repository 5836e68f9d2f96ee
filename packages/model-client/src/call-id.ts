import { randomBytes } from 'node:crypto'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * `call_` + 24 random base62 characters: the id we give a tool call whose provider sent none.
 * Same shape as `newId` in @threadwork/domain; kept local so this package has no runtime
 * dependency on domain (and because `call_` ids are minted here, at the provider boundary).
 */
export function newCallId(): string {
  // Rejection sampling keeps the distribution uniform: 248 = 4 × 62.
  let out = ''
  while (out.length < 24) {
    for (const byte of randomBytes(32)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === 24) break
    }
  }
  return `call_${out}`
}
