// Bundled ranks (~2 MB of JS): nothing is fetched at run time, unlike `js-tiktoken`'s default entry.
import o200k_base from 'js-tiktoken/ranks/o200k_base'

/** o200k_base's pre-tokenizer pattern (use with the `u` flag; `g` to split a text into pieces). */
export const O200K_PATTERN: string = o200k_base.pat_str

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_VALUE = new Uint8Array(128)
for (let i = 0; i < BASE64_DIGITS.length; i++) BASE64_VALUE[BASE64_DIGITS.charCodeAt(i)] = i

let ranks: Map<string, number> | undefined

/**
 * o200k_base's byte-pair ranks: a token's bytes as a binary string (one char per byte, see
 * {@link bytesKey}) → its rank, built once on first use from js-tiktoken's bundled table.
 *
 * Why not js-tiktoken's own `Tiktoken`: its constructor decodes every one of the 200,000 tokens
 * into an array, keys the rank map by `bytes.join(',')` and fills a second, decode-only map, which
 * took 1 s of a worker's boot on a quiet machine and 3–5 s at load 15 (every worker process,
 * every test stack). Decoding base64 straight into a binary string: 0.3–0.7 s at load 15, and
 * the lookups key a piece's bytes without building a comma-joined string.
 */
export function o200kRanks(): Map<string, number> {
  if (ranks) return ranks
  const built = new Map<string, number>()
  // Lines of `! <first rank> <base64 token> <base64 token> …`: consecutive ranks.
  const table = o200k_base.bpe_ranks
  for (let line = 0; line < table.length; ) {
    let end = table.indexOf('\n', line)
    if (end < 0) end = table.length
    const rankStart = table.indexOf(' ', line) + 1
    let token = table.indexOf(' ', rankStart)
    if (rankStart > 0 && token > 0 && token < end) {
      let rank = Number.parseInt(table.slice(rankStart, token), 10)
      for (token++; token < end; ) {
        let tokenEnd = table.indexOf(' ', token)
        if (tokenEnd < 0 || tokenEnd > end) tokenEnd = end
        built.set(decodeBase64(table, token, tokenEnd), rank++)
        token = tokenEnd + 1
      }
    }
    line = end + 1
  }
  ranks = built
  return built
}

/** `bytes[from, to)` as the binary string {@link o200kRanks} is keyed by. */
export function bytesKey(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let key = ''
  for (let i = from; i < to; i++) key += String.fromCharCode(bytes[i]!)
  return key
}

/** Standard base64 (with or without `=` padding) in `text[from, to)`, as a binary string. */
function decodeBase64(text: string, from: number, to: number): string {
  let out = ''
  let acc = 0
  let bits = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === 61) break // '='
    acc = ((acc << 6) | BASE64_VALUE[c]!) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((acc >> bits) & 0xff)
    }
  }
  return out
}
