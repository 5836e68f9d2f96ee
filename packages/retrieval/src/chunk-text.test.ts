import { countTextTokens } from '@threadwork/model-client'
import { Tiktoken } from 'js-tiktoken/lite'
import o200k_base from 'js-tiktoken/ranks/o200k_base'
import { describe, expect, it } from 'vitest'
import { AUTO_CHUNKING, chunkText, chunkingOptionsOf } from './chunk-text.js'

// The exact count (no slicing of long runs), for the bounds.
const exact = new Tiktoken(o200k_base)
const exactTokens = (text: string) => exact.encode(text, [], []).length

/** Deterministic prose: numbered sentences, so every chunk's place in the text is recognisable. */
const prose = (sentences: number) =>
  Array.from({ length: sentences }, (_, i) => `Sentence ${i} tells about topic ${i % 7} and the ${['red', 'green', 'blue'][i % 3]} widget.`).join(' ')

describe('chunkText', () => {
  it('keeps a short text whole', () => {
    expect(chunkText('  Hello world.  ')).toEqual([{ index: 0, text: '  Hello world.  ', tokens: countTextTokens('  Hello world.  ') }])
    expect(chunkText('')).toEqual([])
    expect(chunkText(' \n\n ')).toEqual([])
  })

  it('auto: windows of at most 800 tokens, each starting about 400 after the previous, covering the text', () => {
    const text = prose(1200) // ~16k tokens
    const chunks = chunkText(text)
    expect(chunks.length).toBeGreaterThan(30)
    for (const c of chunks) {
      expect(exactTokens(c.text)).toBe(c.tokens)
      expect(c.tokens).toBeLessThanOrEqual(AUTO_CHUNKING.maxChunkSizeTokens)
      expect(text.includes(c.text)).toBe(true)
    }
    // All but the last are (nearly) full.
    for (const c of chunks.slice(0, -1)) expect(c.tokens).toBeGreaterThan(780)
    // Consecutive chunks overlap by about 400 tokens: the second half of one is the first half of the next.
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!.text
      const cur = chunks[i]!.text
      const start = text.indexOf(cur)
      const prevStart = text.indexOf(prev)
      const overlap = text.slice(start, prevStart + prev.length)
      const overlapTokens = countTextTokens(overlap)
      expect(overlapTokens).toBeGreaterThanOrEqual(390)
      expect(overlapTokens).toBeLessThanOrEqual(420)
    }
    expect(chunks[0]!.text.startsWith('Sentence 0 ')).toBe(true)
    expect(text.endsWith(chunks.at(-1)!.text)).toBe(true)
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i))
  })

  it('static: honours size and overlap, including no overlap', () => {
    const text = prose(300)
    const noOverlap = chunkText(text, { maxChunkSizeTokens: 100, chunkOverlapTokens: 0 })
    // Without overlap the chunks tile the text exactly.
    expect(noOverlap.map((c) => c.text).join('')).toBe(text)
    for (const c of noOverlap) expect(c.tokens).toBeLessThanOrEqual(100)
    const big = chunkText(text, { maxChunkSizeTokens: 4096, chunkOverlapTokens: 2048 })
    expect(big.length).toBe(Math.ceil((countTextTokens(text) - 2048) / 2048))
  })

  it('cuts text without spaces (base64, CJK) within the bound', () => {
    const blob = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256)).toString('base64')
    const chunks = chunkText(blob, { maxChunkSizeTokens: 200, chunkOverlapTokens: 50 })
    expect(chunks.length).toBeGreaterThan(10)
    for (const c of chunks) expect(exactTokens(c.text)).toBeLessThanOrEqual(200)
    const cjk = '東京は日本の首都であり、世界最大の都市圏を持つ。'.repeat(200)
    for (const c of chunkText(cjk, { maxChunkSizeTokens: 100, chunkOverlapTokens: 0 })) {
      expect(exactTokens(c.text)).toBeLessThanOrEqual(100)
      expect(c.text).not.toMatch(/\uFFFD/)
    }
  })

  it("refuses sizes outside OpenAI's bounds", () => {
    expect(() => chunkText('x', { maxChunkSizeTokens: 99, chunkOverlapTokens: 0 })).toThrow(/100 to 4096/)
    expect(() => chunkText('x', { maxChunkSizeTokens: 4097, chunkOverlapTokens: 0 })).toThrow(RangeError)
    expect(() => chunkText('x', { maxChunkSizeTokens: 200, chunkOverlapTokens: 101 })).toThrow(/half/)
    expect(() => chunkText('x', { maxChunkSizeTokens: 200, chunkOverlapTokens: -1 })).toThrow(RangeError)
  })

  it('maps chunking_strategy to options', () => {
    expect(chunkingOptionsOf(undefined)).toEqual({ maxChunkSizeTokens: 800, chunkOverlapTokens: 400 })
    expect(chunkingOptionsOf({ type: 'auto' })).toEqual({ maxChunkSizeTokens: 800, chunkOverlapTokens: 400 })
    expect(chunkingOptionsOf({ type: 'static', static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 150 } })).toEqual({
      maxChunkSizeTokens: 300,
      chunkOverlapTokens: 150,
    })
    expect(() => chunkingOptionsOf({ type: 'static', static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 151 } })).toThrow(RangeError)
  })
})
