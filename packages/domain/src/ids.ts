import { randomBytes } from 'node:crypto'

/** Every object prefix Threadwork hands out (style §6). */
export type IdPrefix = 'asst' | 'thread' | 'msg' | 'run' | 'step' | 'call' | 'turn' | 'evt' | 'whe' | 'req' | 'dlv' | 'upload' | 'part' | 'vs' | 'vsfb'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * Random bytes drawn from a pool refilled 4 KB at a time, each byte used once: a `randomBytes`
 * call per id was ~4 % of the API's busy time on the turn path (issue 14, profiled: the call's own
 * overhead, not the bytes). Node's `randomUUID` caches its entropy the same way.
 */
let pool = Buffer.alloc(0)
let poolAt = 0
function randomByte(): number {
  if (poolAt >= pool.length) {
    pool = randomBytes(4096)
    poolAt = 0
  }
  return pool[poolAt++]!
}

/** `n` random base62 characters; rejection sampling keeps the distribution uniform: 248 = 4 × 62. */
function base62(n: number): string {
  let out = ''
  while (out.length < n) {
    const byte = randomByte()
    if (byte < 248) out += BASE62[byte % 62]
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

/**
 * Every id Threadwork (and OpenAI) hands out is letters, digits, `_` and `-`. Ids go into Redis
 * keys as they are, so one with anything else (`vs_x:files`) could name another key of the same
 * object (its files index, a sorted set): such an id names no object, and is refused as unknown
 * before any key is built from it.
 */
export const isObjectId = (id: string): boolean => /^[A-Za-z0-9_-]+$/.test(id)

/** Integer Unix seconds, the only timestamp unit on the wire. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
