import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { O200K_PATTERN, bytesKey, o200kRanks } from './o200k-ranks.js'

/** Counts the tokens of a piece of text. */
export type CountTokens = (text: string) => number

/**
 * Builds the rank table now (call at worker boot so the first run does not pay for it: 0.3–0.7 s
 * at load 15, o200k-ranks.ts), and counts a sample: the first count compiles o200k's pre-tokenizer
 * pattern (V8 compiles a regex at its first use, to native code at its second) and the merge loop,
 * measured 79 ms on the first turn (load 14).
 */
export function warmUpTokenizer(): void {
  o200kRanks()
  for (let i = 0; i < 2; i++) countTextTokens(WARM_UP_TEXT)
}

const WARM_UP_TEXT = "Warm-up: the tokenizer's pattern, 123 numbers, punctuation (like this!) and\n  whitespace, ünïcödé, 中文."

// js-tiktoken's byte-pair merge is quadratic in the length of one regex piece, and a run with no
// whitespace (or of only whitespace) is one piece: measured 7 s for 10,000 "a"s, 2.9 s for 2,000
// unpunctuated Chinese characters, 2 s for 5,000 spaces — blocking the event loop every stream
// shares. Such runs (base64, minified code, CJK text, padding) are counted in 32-character slices:
// ≈1–2% over the exact count for content, at most one token per slice over for padding that
// o200k packs into very long tokens. A run over 4,096 characters is extrapolated from its start.
const LONG_RUN_CHARS = 64
const HAS_LONG_RUN = new RegExp(`\\S{${LONG_RUN_CHARS},}|\\s{${LONG_RUN_CHARS},}`)
// Global, for matchAll only (which copies it, so its lastIndex stays 0).
const LONG_RUN = new RegExp(HAS_LONG_RUN.source, 'g')
const SLICE_CHARS = 32
const SAMPLE_CHARS = 4_096

/**
 * Tokens of `text` under o200k_base (GPT-4o family). For other providers' models it is an
 * estimate, close enough for truncation budgets. Special-token text such as `<|endoftext|>` in
 * user content is counted as plain text instead of throwing.
 */
export function countTextTokens(text: string): number {
  if (text === '') return 0
  if (text.length < LONG_RUN_CHARS || !HAS_LONG_RUN.test(text)) return countPlain(text)
  let total = 0
  let last = 0
  for (const match of text.matchAll(LONG_RUN)) {
    if (match.index > last) total += countPlain(text.slice(last, match.index))
    total += countLongRun(match[0])
    last = match.index + match[0].length
  }
  if (last < text.length) total += countPlain(text.slice(last))
  return total
}

/** o200k_base's pre-tokenizer, compiled once (js-tiktoken's `encode` compiles it, and a special-token pattern, on every call). */
const pieces = new RegExp(O200K_PATTERN, 'gu')
/** Counts of pieces seen (roles, common words), bounded: cleared when full. */
const pieceCounts = new Map<string, number>()
const PIECE_CACHE_MAX = 50_000

/**
 * `encode(text, [], []).length` (special-token text counted as plain text), computed as the sum
 * of its pre-tokenizer pieces' counts: BPE never merges across pieces, so the sum is exact. A
 * turn's prompt is counted a piece at a time instead of through `encode`, whose per-call set-up
 * cost more than the counting of a short message (roles, names: a few calls per message).
 */
function countPlain(text: string): number {
  let total = 0
  for (const match of text.matchAll(pieces)) {
    const piece = match[0]
    let n = pieceCounts.get(piece)
    if (n === undefined) {
      n = countPieceTokens(piece)
      if (pieceCounts.size >= PIECE_CACHE_MAX) pieceCounts.clear()
      pieceCounts.set(piece, n)
    }
    total += n
  }
  return total
}

/**
 * Tokens of one piece of o200k_base's pre-tokenizer split (a match of its regex, ≤ 64 characters:
 * what retrieval's tokenPieces yields) — the same count as `countTextTokens(piece)`, without the
 * cost js-tiktoken's `encode` pays on every call (it compiles the ~300-character Unicode
 * pattern and the special-token pattern anew, then re-splits the text): byte-pair merging of the
 * piece's UTF-8 bytes over the rank table, as `encode` does per piece. Measured ~50 µs → ~2 µs a
 * piece; chunking a file calls it once per distinct word.
 */
export function countPieceTokens(piece: string): number {
  if (piece === '') return 0
  const ranks = o200kRanks()
  const bytes = utf8.encode(piece)
  if (bytes.length === 1 || ranks.has(bytesKey(bytes))) return 1
  return bytePairMergeCount(bytes, ranks)
}

const utf8 = new TextEncoder()

/**
 * How many tokens byte-pair merging leaves of `bytes`: js-tiktoken's `bytePairMerge` (repeatedly
 * merge the adjacent pair whose joined bytes have the lowest rank, the leftmost on ties), counting
 * parts instead of mapping them. `starts[i]` is where part i begins and `pairRank[i]` the rank of
 * parts i and i+1 joined; a merge re-ranks only its two neighbours (as tiktoken's Rust core does)
 * instead of every pair, so a piece costs O(n) rank lookups rather than O(n²).
 */
function bytePairMergeCount(bytes: Uint8Array, ranks: Map<string, number>): number {
  const starts = Array.from({ length: bytes.length + 1 }, (_, i) => i)
  const rankOf = (i: number) => (i + 2 < starts.length ? (ranks.get(bytesKey(bytes, starts[i]!, starts[i + 2]!)) ?? Infinity) : Infinity)
  const pairRank = starts.map((_, i) => rankOf(i))
  for (;;) {
    let best = -1
    let bestRank = Infinity
    for (let i = 0; i < pairRank.length - 2; i++) {
      if (pairRank[i]! < bestRank) {
        bestRank = pairRank[i]!
        best = i
      }
    }
    if (best < 0) break
    starts.splice(best + 1, 1)
    pairRank.splice(best + 1, 1)
    pairRank[best] = rankOf(best)
    if (best > 0) pairRank[best - 1] = rankOf(best - 1)
  }
  return starts.length - 1
}

function countLongRun(run: string): number {
  const sampled = Math.min(run.length, SAMPLE_CHARS)
  let tokens = 0
  for (let i = 0; i < sampled; ) {
    let end = Math.min(i + SLICE_CHARS, sampled)
    // Do not split a surrogate pair (it would count as two replacement characters).
    const code = run.charCodeAt(end - 1)
    if (code >= 0xd800 && code <= 0xdbff && end < run.length) end++
    tokens += countPlain(run.slice(i, end))
    i = end
  }
  return sampled === run.length ? tokens : Math.ceil((tokens * run.length) / sampled)
}

// OpenAI's accounting (openai-cookbook "How to count tokens with tiktoken", gpt-4o):
// every message costs 3 tokens of framing, a `name` 1 more, and the reply is primed with 3.
export const TOKENS_PER_MESSAGE = 3
export const TOKENS_PER_NAME = 1
export const REPLY_PRIMING_TOKENS = 3

// Images cannot be measured without fetching them. 765 = 85 + 4 × 170, OpenAI's cost of a
// 1024×1024 image at `high`/`auto` detail; `low` is a flat 85.
const IMAGE_TOKENS_HIGH = 765
const IMAGE_TOKENS_LOW = 85

/** Tokens one chat message adds to a prompt, framing included. */
export function countChatMessageTokens(message: ChatCompletionMessageParam, countText: CountTokens = countTextTokens): number {
  let total = TOKENS_PER_MESSAGE + countText(message.role)
  if ('name' in message && message.name) total += TOKENS_PER_NAME + countText(message.name)
  const content = message.content
  if (typeof content === 'string') total += countText(content)
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (part.type === 'text') total += countText(part.text)
      else if (part.type === 'image_url') total += part.image_url.detail === 'low' ? IMAGE_TOKENS_LOW : IMAGE_TOKENS_HIGH
      else if (part.type === 'refusal') total += countText(part.refusal)
    }
  }
  if (message.role === 'assistant' && message.tool_calls) {
    for (const call of message.tool_calls) {
      if (call.type === 'function') total += countText(call.function.name) + countText(call.function.arguments) + TOKENS_PER_MESSAGE
    }
  }
  if (message.role === 'tool') total += countText(message.tool_call_id)
  return total
}

/** Prompt tokens of a whole chat request's messages: per-message framing plus reply priming. */
export function countMessageTokens(messages: readonly ChatCompletionMessageParam[], countText: CountTokens = countTextTokens): number {
  let total = REPLY_PRIMING_TOKENS
  for (const message of messages) total += countChatMessageTokens(message, countText)
  return total
}
