import { withUpstreamRetries } from '@threadwork/model-client'
import type OpenAI from 'openai'

/** Text → unit-length vectors through an OpenAI-compatible `/v1/embeddings`. */
export interface Embedder {
  readonly model: string
  /** Requested dimensions, or null to take the model's own. */
  readonly dimensions: number | null
  /**
   * One unit-length vector per input, in input order. Inputs go out in batches (several at a
   * time); each batch is retried like a chat call. Throws UpstreamError (model-client) when a
   * batch fails for good, or `signal.reason` on abort.
   */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<EmbeddingResult>
}

export interface EmbeddingResult {
  vectors: Float32Array[]
  /** Summed over batches, as the provider reported it (0 when it reported none). */
  usage: { prompt_tokens: number; total_tokens: number }
}

export interface EmbedderOptions {
  /** A client of the provider serving `model` (model-client's router: `router.resolve(model).client`; `maxRetries: 0`). */
  client: OpenAI
  model: string
  /** Sent as `dimensions` (text-embedding-3 models shorten their vectors); omitted when unset, for providers that refuse it. */
  dimensions?: number | null
  /** Inputs per request. Default 128 (OpenAI allows 2,048). */
  batchSize?: number
  /**
   * Characters per request. Default 400,000 ≈ 100k–200k tokens: under OpenAI's 300,000 tokens per
   * request whatever the text (chunks are at most 4,096 tokens each).
   */
  maxBatchChars?: number
  /** Requests in flight at once. Default 4. */
  concurrency?: number
  /** Attempts per request (UPSTREAM_MAX_ATTEMPTS). Default 4. */
  maxAttempts?: number
  /** Backoff base for retries, ms (tests shorten it). Default 500. */
  baseDelayMs?: number
}

/**
 * Creates an {@link Embedder} over `client.embeddings.create` (the official SDK, which asks for
 * base64 and decodes it). Vectors are normalised to unit length, so cosine similarity is a dot
 * product and scores compare across providers; a response whose count or dimensions do not match
 * the request is an error (a provider ignoring `dimensions` must not corrupt the index).
 */
export function createEmbedder(options: EmbedderOptions): Embedder {
  const { client, model, batchSize = 128, maxBatchChars = 400_000, concurrency = 4, maxAttempts = 4, baseDelayMs = 500 } = options
  const dimensions = options.dimensions ?? null

  const embedBatch = async (inputs: string[], signal: AbortSignal | undefined) => {
    const response = await withUpstreamRetries(
      () =>
        client.embeddings.create(
          // base64 asked for explicitly, so the SDK hands the answer over as sent: a provider that
          // ignores encoding_format and sends float arrays would otherwise be "decoded" into garbage.
          { model, input: inputs, encoding_format: 'base64', ...(dimensions ? { dimensions } : {}) },
          signal ? { signal } : undefined,
        ),
      { maxAttempts, baseDelayMs, ...(signal ? { signal } : {}) },
    )
    const data = [...response.data].sort((a, b) => a.index - b.index)
    if (data.length !== inputs.length) {
      throw new Error(`Embedding model '${model}' returned ${data.length} vectors for ${inputs.length} inputs.`)
    }
    const vectors = data.map((d) => normalizeInPlace(decodeEmbedding(d.embedding as unknown)))
    const width = vectors[0]?.length ?? 0
    if (vectors.some((v) => v.length !== width) || (dimensions && width !== dimensions)) {
      throw new Error(`Embedding model '${model}' returned vectors of ${width} dimensions; expected ${dimensions ?? width}.`)
    }
    return { vectors, usage: response.usage }
  }

  return {
    model,
    dimensions,
    async embed(texts, opts = {}) {
      const batches = splitBatches(texts, batchSize, maxBatchChars)
      const results = new Array<Awaited<ReturnType<typeof embedBatch>>>(batches.length)
      let next = 0
      const lane = async () => {
        while (next < batches.length) {
          const i = next++
          results[i] = await embedBatch(batches[i]!, opts.signal)
        }
      }
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane))
      const usage = { prompt_tokens: 0, total_tokens: 0 }
      for (const r of results) {
        usage.prompt_tokens += r.usage?.prompt_tokens ?? 0
        usage.total_tokens += r.usage?.total_tokens ?? 0
      }
      return { vectors: results.flatMap((r) => r.vectors), usage }
    },
  }
}

function splitBatches(texts: readonly string[], size: number, maxChars: number): string[][] {
  const batches: string[][] = []
  let batch: string[] = []
  let chars = 0
  for (const text of texts) {
    // Providers refuse an empty input; a single space embeds as "nothing".
    const input = text === '' ? ' ' : text
    if (batch.length > 0 && (batch.length >= size || chars + input.length > maxChars)) {
      batches.push(batch)
      batch = []
      chars = 0
    }
    batch.push(input)
    chars += input.length
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

/**
 * A base64 string of little-endian float32s (OpenAI's `encoding_format: "base64"`) or a float
 * array, as a fresh Float32Array of its own (the caller may scale it in place). Base64 is decoded
 * straight into the aligned array: no intermediate Buffer and copy per vector.
 */
export function decodeEmbedding(embedding: unknown): Float32Array {
  if (typeof embedding === 'string') {
    // byteLength is computed from the string's length and padding: exact for well-formed base64.
    const estimate = Buffer.byteLength(embedding, 'base64')
    if (estimate % 4 === 0) {
      const out = new Float32Array(estimate / 4)
      if (Buffer.from(out.buffer).write(embedding, 'base64') === estimate) return out
    }
    // Anything else (whitespace, a trailing partial float: then the width check reports it).
    const copy = new Uint8Array(Buffer.from(embedding, 'base64')) // aligned for Float32Array
    return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4))
  }
  if (Array.isArray(embedding) && embedding.every((x) => typeof x === 'number')) return Float32Array.from(embedding as number[])
  throw new Error('Embedding response holds an embedding that is neither base64 nor an array of numbers.')
}

/** The vector scaled to length 1 (a zero vector stays zero). */
export function normalize(vector: ArrayLike<number>): Float32Array {
  return normalizeInPlace(Float32Array.from(vector))
}

/** {@link normalize} of a vector the caller owns, scaled where it is (the same float32 values, no copy). */
function normalizeInPlace(out: Float32Array): Float32Array {
  let norm = 0
  for (let i = 0; i < out.length; i++) norm += out[i]! * out[i]!
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm
  return out
}
