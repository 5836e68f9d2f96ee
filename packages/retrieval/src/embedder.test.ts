import { UpstreamError } from '@threadwork/model-client'
import { type FakeUpstream, fakeEmbedding, startFakeUpstream } from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createEmbedder, decodeEmbedding, normalize } from './embedder.js'

let upstream: FakeUpstream
let client: OpenAI
beforeAll(async () => {
  upstream = await startFakeUpstream()
  client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 })
})
afterAll(() => upstream.close())
beforeEach(() => upstream.reset())

describe('createEmbedder', () => {
  it('embeds in batches through /v1/embeddings, in input order, as unit vectors', async () => {
    const embedder = createEmbedder({ client, model: 'fake-embed', dimensions: 64, batchSize: 128 })
    const texts = Array.from({ length: 300 }, (_, i) => `document number ${i} about ${i % 2 ? 'cats' : 'dogs'}`)
    const { vectors, usage } = await embedder.embed(texts)
    expect(upstream.embeddingRequests.map((r) => r.inputs).sort((a, b) => a - b)).toEqual([44, 128, 128])
    expect(upstream.embeddingRequests.every((r) => r.body.dimensions === 64 && r.body.model === 'fake-embed')).toBe(true)
    expect(vectors).toHaveLength(300)
    for (const i of [0, 1, 150, 299]) expect(Array.from(vectors[i]!)).toEqual(Array.from(fakeEmbedding(texts[i]!, 64)))
    expect(usage.prompt_tokens).toBe(texts.reduce((n, t) => n + t.split(' ').length, 0))
  })

  it('splits batches by size in characters too', async () => {
    const embedder = createEmbedder({ client, model: 'm', maxBatchChars: 1000 })
    await embedder.embed(Array.from({ length: 5 }, () => 'x'.repeat(400)))
    expect(upstream.embeddingRequests.map((r) => r.inputs)).toEqual([2, 2, 1])
  })

  it('leaves dimensions out when none is configured', async () => {
    const embedder = createEmbedder({ client, model: 'm' })
    const { vectors } = await embedder.embed(['hello'])
    expect(upstream.embeddingRequests[0]!.body).not.toHaveProperty('dimensions')
    expect(vectors[0]).toHaveLength(256)
  })

  it('retries 429 and 5xx like chat calls, then succeeds', async () => {
    upstream.respondEmbeddingsOnce({ status: 429, headers: { 'retry-after-ms': '5' } }, { status: 500 })
    const embedder = createEmbedder({ client, model: 'm', baseDelayMs: 1 })
    const { vectors } = await embedder.embed(['retry me'])
    expect(vectors).toHaveLength(1)
    expect(upstream.embeddingRequests.map((r) => r.status)).toEqual([429, 500, 200])
  })

  it('gives up with UpstreamError after maxAttempts, and at once on a 400', async () => {
    upstream.respondEmbeddingsOnce({ status: 503 }, { status: 503 })
    const embedder = createEmbedder({ client, model: 'm', baseDelayMs: 1, maxAttempts: 2 })
    const err = await embedder.embed(['x']).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UpstreamError)
    expect(err).toMatchObject({ code: 'server_error', attempts: 2 })
    upstream.reset()
    upstream.respondEmbeddingsOnce({ status: 400 })
    await expect(embedder.embed(['x'])).rejects.toMatchObject({ name: 'UpstreamError', retryable: false, attempts: 1 })
  })

  it('refuses a response whose vectors do not match the request', async () => {
    const embedding = (n: number) => Array.from({ length: n }, () => 0.5)
    upstream.respondEmbeddingsOnce({
      status: 200,
      body: { object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: embedding(32) }], usage: { prompt_tokens: 1, total_tokens: 1 } },
    })
    const embedder = createEmbedder({ client, model: 'm', dimensions: 64 })
    await expect(embedder.embed(['x'])).rejects.toThrow(/32 dimensions; expected 64/)
  })

  it('aborts with the signal', async () => {
    const controller = new AbortController()
    controller.abort(new Error('cancelled by test'))
    const embedder = createEmbedder({ client, model: 'm' })
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toThrow('cancelled by test')
  })
})

describe('embedderFromSettings', () => {
  it('routes EMBEDDING_MODEL like a chat model; unset means keyword-only', async () => {
    const { createProviderRouter } = await import('@threadwork/model-client')
    const { embedderFromSettings } = await import('./embedder-from-settings.js')
    const router = createProviderRouter({ routes: [{ match: 'embed-*', baseURL: upstream.baseURL }] })
    expect(embedderFromSettings(router, {})).toBeNull()
    const embedder = embedderFromSettings(router, { EMBEDDING_MODEL: 'embed-small', EMBEDDING_DIMENSIONS: 32 })!
    expect(embedder).toMatchObject({ model: 'embed-small', dimensions: 32 })
    expect((await embedder.embed(['hi'])).vectors[0]).toHaveLength(32)
    expect(() => embedderFromSettings(router, { EMBEDDING_MODEL: 'other' })).toThrow(/matches no provider/)
  })
})

describe('decodeEmbedding', () => {
  // The decoder as it was: base64 into a Buffer, copied for alignment, viewed as float32s.
  const before = (b64: string) => {
    const copy = new Uint8Array(Buffer.from(b64, 'base64'))
    return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4))
  }
  const floats = Float32Array.from({ length: 257 }, (_, i) => Math.sin(i * 1.7) * (i % 5 === 0 ? 1e-30 : 3.5))
  const b64 = Buffer.from(floats.buffer).toString('base64')

  it('decodes base64 float32s exactly as before, also when malformed (whitespace, a partial float)', () => {
    for (const input of [b64, `${b64.slice(0, 40)}\n${b64.slice(40)}`, Buffer.from(floats.buffer, 0, 30).toString('base64'), '']) {
      expect([...decodeEmbedding(input)]).toEqual([...before(input)])
    }
    expect([...decodeEmbedding(b64)]).toEqual([...floats])
  })

  it('returns a vector of its own, and float arrays as float32s', () => {
    const a = decodeEmbedding(b64)
    a[0] = 42
    expect(decodeEmbedding(b64)[0]).toBe(floats[0])
    expect([...decodeEmbedding([0.5, 1, 2])]).toEqual([0.5, 1, 2])
    expect(() => decodeEmbedding([1, 'x'])).toThrow(/neither base64/)
  })

  it('normalises to the same float32 values as normalize of a copy', () => {
    const embedder = normalize(before(b64))
    expect(embedder.length).toBe(257)
    expect([...normalize(decodeEmbedding(b64))]).toEqual([...embedder])
  })
})
