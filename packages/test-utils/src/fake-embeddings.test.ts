import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FAKE_EMBEDDING_DIMENSIONS, embeddingsResponse, fakeEmbedding } from './fake-embeddings.js'
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

describe("POST /v1/embeddings, the 'instant' mode", () => {
  it('answers every input with the same unit vector, in both encodings, and validates like the lexical mode', async () => {
    const instant = await startFakeUpstream({ embeddings: 'instant' })
    try {
      const sdk = new OpenAI({ baseURL: instant.baseURL, apiKey: 'x', maxRetries: 0 })
      const input = ['zebras graze on the savanna', 'the invoice is due in thirty days']
      const viaBase64 = await sdk.embeddings.create({ model: 'fake-embed', input, dimensions: 64 })
      const viaFloat = await sdk.embeddings.create({ model: 'fake-embed', input, dimensions: 64, encoding_format: 'float' })
      for (const res of [viaBase64, viaFloat]) {
        expect(res.data.map((d) => d.index)).toEqual([0, 1])
        expect(res.data[0]!.embedding).toHaveLength(64)
        expect(cosine(res.data[0]!.embedding, res.data[0]!.embedding)).toBeCloseTo(1, 5)
        // Not lexical: unrelated texts get the same vector.
        expect(res.data[1]!.embedding).toEqual(res.data[0]!.embedding)
        // One token per 4 characters, rounded up per input (27 and 33 characters).
        expect(res.usage).toEqual({ prompt_tokens: 7 + 9, total_tokens: 16 })
      }
      expect(viaBase64.data[0]!.embedding).toEqual(viaFloat.data[0]!.embedding)
      await expect(sdk.embeddings.create({ model: 'm', input: '' })).rejects.toMatchObject({ status: 400, param: 'input' })
      expect(embeddingsResponse({ model: 'm', input: 'x', dimensions: 0 }, 'instant').status).toBe(400)
    } finally {
      await instant.close()
    }
  })
})

describe('fakeEmbedding', () => {
  // The embedding as first written (regex over the lower-cased text, counts keyed by word): the
  // ASCII fast path must give the very same vectors.
  const STOP = new Set('a an and are as at be by for from has have in is it its of on or that the this to was were will with'.split(' '))
  const reference = (text: string, dimensions = FAKE_EMBEDDING_DIMENSIONS) => {
    const counts = new Map<string, number>()
    for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
      let word = match[0]
      if (STOP.has(word)) continue
      if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) word = word.slice(0, -1)
      counts.set(word, (counts.get(word) ?? 0) + 1)
    }
    const vector = new Float32Array(dimensions)
    for (const [word, tf] of counts) {
      let h = 0x811c9dc5
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193)
      h >>>= 0
      let m = h ^ (h >>> 16)
      m = Math.imul(m, 0x85ebca6b)
      m ^= m >>> 13
      m = Math.imul(m, 0xc2b2ae35)
      m = (m ^ (m >>> 16)) >>> 0
      vector[h % dimensions] = vector[h % dimensions]! + (m & 1 ? 1 : -1) * (1 + Math.log(tf))
    }
    let norm = 0
    for (const x of vector) norm += x * x
    if (norm === 0) vector[0] = 1
    else for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! / Math.sqrt(norm)
    return vector
  }

  it('gives the same vectors by its ASCII fast path and its Unicode path as the first implementation', () => {
    const texts = [
      'The Cats and the cat: CLASS classes, bus buses; 42 answers IS ITS it. The engines were started at 10:42!',
      'the a an of', // stop words only
      '',
      'x'.repeat(300) + ' glass gas yes Yes YES ss sss abcs',
      'Grüße aus Köln, the cafés and CAFÉS; Ελληνικά κείμενα; 日本語 text with ascii words too',
      'tabs\tand\nnewlines\r\nand\u00a0non-breaking spaces',
    ]
    for (const text of texts) for (const dims of [256, 7]) expect([...fakeEmbedding(text, dims)]).toEqual([...reference(text, dims)])
  })

  it('counts usage as whitespace-separated words, Unicode spaces included', () => {
    const input = ['  tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces ', 'one', 'Köln   café\u3000日本']
    const { body } = embeddingsResponse({ model: 'm', input }) as { body: { usage: { prompt_tokens: number } } }
    expect(body.usage.prompt_tokens).toBe(input.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0))
    expect(body.usage.prompt_tokens).toBe(6 + 1 + 3)
  })
})
