import { tokenPieces } from './token-pieces.js'

/** One chunk of a file's text. */
export interface Chunk {
  /** 0-based position in the file. */
  index: number
  /** The chunk's text: exactly the window, leading space included (trimming could change its token count). */
  text: string
  /** Its o200k_base token count. */
  tokens: number
}

export interface ChunkingOptions {
  /** 100–4096 (OpenAI's static strategy bounds). */
  maxChunkSizeTokens: number
  /** 0 … maxChunkSizeTokens / 2. */
  chunkOverlapTokens: number
}

/** OpenAI's `auto` strategy: 800-token chunks overlapping by 400. */
export const AUTO_CHUNKING: Readonly<ChunkingOptions> = Object.freeze({ maxChunkSizeTokens: 800, chunkOverlapTokens: 400 })
export const MIN_CHUNK_SIZE_TOKENS = 100
export const MAX_CHUNK_SIZE_TOKENS = 4096

/**
 * The `chunking_strategy` of a vector store file as chunker options: absent or `{type:"auto"}` →
 * 800/400; `{type:"static", static:{max_chunk_size_tokens, chunk_overlap_tokens}}` → those
 * (validated as in {@link chunkText}). Throws RangeError naming the broken bound.
 */
export function chunkingOptionsOf(
  strategy?: { type: 'auto' } | { type: 'static'; static: { max_chunk_size_tokens: number; chunk_overlap_tokens: number } } | null,
): ChunkingOptions {
  if (!strategy || strategy.type === 'auto') return { ...AUTO_CHUNKING }
  const options = { maxChunkSizeTokens: strategy.static.max_chunk_size_tokens, chunkOverlapTokens: strategy.static.chunk_overlap_tokens }
  validateChunking(options)
  return options
}

function validateChunking({ maxChunkSizeTokens: max, chunkOverlapTokens: overlap }: ChunkingOptions): void {
  if (!Number.isInteger(max) || max < MIN_CHUNK_SIZE_TOKENS || max > MAX_CHUNK_SIZE_TOKENS) {
    throw new RangeError(`max_chunk_size_tokens must be an integer from ${MIN_CHUNK_SIZE_TOKENS} to ${MAX_CHUNK_SIZE_TOKENS}.`)
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > max / 2) {
    throw new RangeError('chunk_overlap_tokens must be a non-negative integer that does not exceed half of max_chunk_size_tokens.')
  }
}

/**
 * Cuts text into windows of at most `maxChunkSizeTokens` o200k_base tokens, each starting
 * `maxChunkSizeTokens - chunkOverlapTokens` tokens after the previous one (OpenAI's static
 * chunking), cut only between tokenizer pieces (see tokenPieces), so a window may hold a few
 * tokens less than the maximum and the overlap may be a few tokens more. Text within one window
 * is a single chunk; whitespace-only windows are dropped; an empty text has no chunks.
 *
 * Throws RangeError for options outside OpenAI's bounds (100–4096, overlap ≤ half).
 */
export function chunkText(text: string, options: ChunkingOptions = AUTO_CHUNKING): Chunk[] {
  validateChunking(options)
  const { maxChunkSizeTokens: max, chunkOverlapTokens: overlap } = options
  const { ends, tokens } = tokenPieces(text)
  const n = ends.length
  // before[i]: tokens of pieces 0..i-1; start offset of piece i is ends[i-1] (or 0).
  const before = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) before[i + 1] = before[i]! + tokens[i]!
  const startOf = (i: number) => (i === 0 ? 0 : ends[i - 1]!)

  const chunks: Chunk[] = []
  const stride = max - overlap
  let s = 0
  let e = 0
  while (s < n) {
    if (e < s) e = s
    while (e < n && before[e + 1]! - before[s]! <= max) e++
    if (e === s) e = s + 1 // unreachable: no piece exceeds 32 tokens < 100
    const window = text.slice(startOf(s), ends[e - 1]!)
    if (window.trim()) chunks.push({ index: chunks.length, text: window, tokens: before[e]! - before[s]! })
    if (e >= n) break
    let next = s + 1
    while (next < e && before[next]! - before[s]! < stride) next++
    s = next
  }
  return chunks
}
