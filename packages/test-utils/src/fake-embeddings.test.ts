import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FAKE_EMBEDDING_DIMENSIONS, fakeEmbedding } from './fake-embeddings.js'
import { startFakeUpstream } from './fake-upstream.js'
import type { FakeUpstream } from './fake-upstream-types.js'

let upstream: FakeUpstream
let client: OpenAI

beforeAll(async () => {
  upstream = await startFakeUpstream()
  client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 })
})
afterAll(() => upstream.close())
beforeEach(() => upstream.reset())

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!
  return dot
}

describe('POST /v1/embeddings', () => {
  it('answers the SDK default (base64, decoded by the SDK) with the same vectors as encoding_format float', async () => {
    const input = ['zebras graze on the savanna', 'the invoice is due in thirty days']
    const viaBase64 = await client.embeddings.create({ model: 'fake-embed', input })
    const viaFloat = await client.embeddings.create({ model: 'fake-embed', input, encoding_format: 'float' })
    expect(upstream.embeddingRequests.map((r) => r.body.encoding_format)).toEqual(['base64', 'float'])
    expect(viaBase64.data).toHaveLength(2)
    expect(viaBase64.data[0]!.embedding).toHaveLength(FAKE_EMBEDDING_DIMENSIONS)
    for (const i of [0, 1]) {
      const a = viaBase64.data[i]!.embedding
      const b = viaFloat.data[i]!.embedding
      expect(a.map((x) => Math.fround(x))).toEqual(b.map((x) => Math.fround(x)))
    }
    expect(viaFloat.data.map((d) => d.index)).toEqual([0, 1])
    expect(viaFloat.model).toBe('fake-embed')
    expect(viaFloat.usage).toEqual({ prompt_tokens: 12, total_tokens: 12 })
  })

  it('honours dimensions and gives unit vectors', async () => {
    const res = await client.embeddings.create({ model: 'm', input: 'hello world', dimensions: 64, encoding_format: 'float' })
    const v = res.data[0]!.embedding
    expect(v).toHaveLength(64)
    expect(cosine(v, v)).toBeCloseTo(1, 5)
  })

  it('carries lexical similarity, deterministically', () => {
    const zebra = fakeEmbedding('Zebras live on the African savanna in herds.')
    const zebra2 = fakeEmbedding('Where do zebra herds live?')
    const invoice = fakeEmbedding('Invoices must be paid within thirty days of receipt.')
    expect(cosine(zebra, zebra2)).toBeGreaterThan(0.3)
    expect(Math.abs(cosine(zebra, invoice))).toBeLessThan(0.2)
    expect(Array.from(fakeEmbedding('same text'))).toEqual(Array.from(fakeEmbedding('same text')))
  })

  it("refuses bad input with OpenAI's 400 body", async () => {
    await expect(client.embeddings.create({ model: 'm', input: '' })).rejects.toMatchObject({ status: 400, param: 'input' })
    await expect(client.embeddings.create({ model: 'm', input: 'x', dimensions: 0 })).rejects.toMatchObject({ status: 400, param: 'dimensions' })
    await expect(client.embeddings.create({ model: '', input: 'x' })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
  })

  it('plays scripted failures first, then answers', async () => {
    upstream.respondEmbeddingsOnce({ status: 429, headers: { 'retry-after-ms': '1' } }, { status: 503 })
    await expect(client.embeddings.create({ model: 'm', input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError)
    await expect(client.embeddings.create({ model: 'm', input: 'x' })).rejects.toBeInstanceOf(OpenAI.InternalServerError)
    await expect(client.embeddings.create({ model: 'm', input: 'x' })).resolves.toMatchObject({ object: 'list' })
    expect(upstream.embeddingRequests.map((r) => r.status)).toEqual([429, 503, 200])
  })
})
