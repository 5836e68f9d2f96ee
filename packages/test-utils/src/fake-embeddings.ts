import type { IncomingHttpHeaders } from 'node:http'
import { openAIError } from './fake-upstream-errors.js'

/** Dimensions of a fake embedding when the request names none (OpenAI's file_search uses 256 too). */
export const FAKE_EMBEDDING_DIMENSIONS = 256

/** One `POST /v1/embeddings` as the fake saw it. */
export interface RecordedEmbeddingRequest {
  seq: number
  body: { model?: unknown; input?: unknown; dimensions?: unknown; encoding_format?: unknown }
  headers: IncomingHttpHeaders
  /** Inputs in the request (1 for a single string). */
  inputs: number
  startedAt: number
  /** HTTP status answered. */
  status: number
}

/** A scripted reply for the next embeddings request (`respondEmbeddingsOnce`): a failure, or a slow 200. */
export interface EmbeddingErrorReply {
  /** 200 without `body`: the normal answer (after `delayMs`); else this status with `body` (default: OpenAI's error body for it). */
  status: number
  /** Wait this long before answering (a slow or hung provider); default 0. */
  delayMs?: number
  body?: unknown
  headers?: Record<string, string>
}

// Words that appear everywhere would make every two texts look alike.
const STOP = new Set('a an and are as at be by for from has have in is it its of on or that the this to was were will with'.split(' '))

/**
 * A deterministic embedding that carries lexical similarity: each word (lower-cased letters and
 * digits, a trailing plural `s` dropped, stop words skipped) is hashed (FNV-1a) to a dimension and a
 * sign, counts are damped (1 + ln tf), and the vector is scaled to unit length. Texts sharing words
 * have a positive cosine, texts sharing none are near 0, and the same text always gives the same
 * vector — enough for tests of hybrid search without a model. An input with no words gives a
 * fixed vector (dimension 0 set).
 */
export function fakeEmbedding(text: string, dimensions = FAKE_EMBEDDING_DIMENSIONS): Float32Array {
  // Term counts keyed by the word's hash (all the vector uses), in first-seen order.
  const counts = NON_ASCII.test(text) ? wordHashCounts(text) : asciiWordHashCounts(text)
  const vector = new Float32Array(dimensions)
  counts.forEach((tf, h) => {
    const slot = h % dimensions
    vector[slot] = vector[slot]! + (mix(h) & 1 ? 1 : -1) * (1 + Math.log(tf))
  })
  let norm = 0
  for (let i = 0; i < dimensions; i++) norm += vector[i]! * vector[i]!
  if (norm === 0) {
    vector[0] = 1
    return vector
  }
  norm = Math.sqrt(norm)
  for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! / norm
  return vector
}

const NON_ASCII = /[^ -~\t\n\r\f\v]/ // anything but printable ASCII and ASCII whitespace (other controls take the Unicode path)

/** Words by the Unicode rule (letters and digits), lower-cased, stop words skipped, a plural `s` dropped. */
function wordHashCounts(text: string): Map<number, number> {
  const counts = new Map<number, number>()
  for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    let word = match[0]
    if (STOP.has(word)) continue
    if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) word = word.slice(0, -1)
    const h = hashWord(word)
    counts.set(h, (counts.get(h) ?? 0) + 1)
  }
  return counts
}

/**
 * wordHashCounts for ASCII text in one pass over its code units, hashing as it goes and making a
 * string only for words short enough to be stop words: the benches embed megabytes of chunks,
 * and the regex path cost ~0.08 ms per 800-token chunk, CPU taken from the process measured on
 * the same cores. Same hashes, counts and order as wordHashCounts (fake-embeddings.test.ts).
 */
function asciiWordHashCounts(text: string): Map<number, number> {
  const counts = new Map<number, number>()
  const n = text.length
  let i = 0
  while (i < n) {
    let c = text.charCodeAt(i)
    if (!isAsciiWordCode(c)) {
      i++
      continue
    }
    const start = i
    let h = 0x811c9dc5
    let beforeLast = h
    let last = 0
    let secondLast = 0
    for (; i < n && isAsciiWordCode((c = text.charCodeAt(i))); i++) {
      if (c >= 65 && c <= 90) c |= 0x20 // A-Z → a-z
      beforeLast = h
      h = Math.imul(h ^ c, 0x01000193)
      secondLast = last
      last = c
    }
    const length = i - start
    if (length <= MAX_STOP_LENGTH && STOP.has(text.slice(start, i).toLowerCase())) continue
    // A plural `s` dropped: the hash as it was before the last code unit.
    const key = (length > 3 && last === 115 && secondLast !== 115 ? beforeLast : h) >>> 0
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

const isAsciiWordCode = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
const MAX_STOP_LENGTH = Math.max(...[...STOP].map((w) => w.length))

/** FNV-1a over the word's UTF-16 code units (unsigned 32-bit): fast, so the fake answers at once even for benches. */
function hashWord(word: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** MurmurHash3's finaliser: an independent-looking bit for the sign. */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Runs of non-whitespace, as `text.split(/\s+/).filter(Boolean).length` counts them, without the array. */
function wordCount(text: string): number {
  let words = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c < 128 ? c === 32 || (c >= 9 && c <= 13) : SPACE.test(text[i]!)
    if (!space && !inWord) words++
    inWord = !space
  }
  return words
}
const SPACE = /\s/

/** Base64 of the vector's little-endian float32 bytes, as OpenAI's `encoding_format: "base64"`. */
export function toBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')
}

/**
 * How the fake computes vectors. `lexical` (default): `fakeEmbedding`, vectors that carry lexical
 * similarity, for tests and benches of search. `instant`: one fixed unit vector for every input
 * and a length-based token count: no per-word work, the stand-in for a provider whose model time
 * is spent on its own machines (issue 10's ingestion goal is measured "with an instant embedding
 * upstream"; hashing megabytes of chunks took ~0.6 s of CPU per 8.4 MB on the cores the measured
 * worker uses). Search over `instant` vectors is meaningless: keyword-only at best.
 */
export type FakeEmbeddingsMode = 'lexical' | 'instant'

/** The `instant` vector of each dimension count: e_0, as a Float32Array and as OpenAI's base64. */
const instantVectors = new Map<number, { floats: number[]; base64: string }>()
function instantVector(dims: number): { floats: number[]; base64: string } {
  let v = instantVectors.get(dims)
  if (!v) {
    const vector = new Float32Array(dims)
    vector[0] = 1
    v = { floats: Array.from(vector), base64: toBase64(vector) }
    instantVectors.set(dims, v)
  }
  return v
}

/**
 * Answers one embeddings request body like OpenAI: `input` a string or array of strings (token
 * arrays are taken as their numbers' words), `dimensions` (default 256), `encoding_format`
 * `float` (default) or `base64` (what the openai SDK asks for), usage of 1 token per word
 * (`instant`: per 4 characters). Returns the status and JSON body. `mode`: see FakeEmbeddingsMode.
 */
export function embeddingsResponse(body: RecordedEmbeddingRequest['body'], mode: FakeEmbeddingsMode = 'lexical'): { status: number; body: unknown } {
  if (typeof body.model !== 'string' || body.model === '') {
    return { status: 400, body: openAIError("Missing required parameter: 'model'.", { param: 'model' }) }
  }
  const raw = body.input
  const inputs: string[] | null =
    typeof raw === 'string'
      ? [raw]
      : Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'number')
        ? [raw.join(' ')]
        : Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'string' || (Array.isArray(x) && x.every((n) => typeof n === 'number')))
          ? raw.map((x) => (typeof x === 'string' ? x : (x as number[]).join(' ')))
          : null
  if (!inputs || inputs.length > 2048 || inputs.some((s) => s === '')) {
    return {
      status: 400,
      body: openAIError("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", { param: 'input' }),
    }
  }
  const dims = body.dimensions ?? FAKE_EMBEDDING_DIMENSIONS
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > 4096) {
    return { status: 400, body: openAIError('Invalid value for dimensions: must be an integer from 1 to 4096.', { param: 'dimensions' }) }
  }
  const format = body.encoding_format ?? 'float'
  if (format !== 'float' && format !== 'base64') {
    return { status: 400, body: openAIError("Invalid value for 'encoding_format': expected 'float' or 'base64'.", { param: 'encoding_format' }) }
  }
  let tokens = 0
  if (mode === 'instant') {
    const { floats, base64 } = instantVector(dims)
    const data = inputs.map((text, index) => {
      tokens += Math.ceil(text.length / 4)
      return { object: 'embedding', index, embedding: format === 'base64' ? base64 : floats }
    })
    return { status: 200, body: { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } } }
  }
  const data = inputs.map((text, index) => {
    tokens += wordCount(text)
    const vector = fakeEmbedding(text, dims)
    return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(vector) : Array.from(vector) }
  })
  return { status: 200, body: { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } } }
}
