import { Tiktoken } from 'js-tiktoken/lite'
import o200k_base from 'js-tiktoken/ranks/o200k_base'
import { describe, expect, it } from 'vitest'
import { bytesKey, o200kRanks } from './o200k-ranks.js'
import { countChatMessageTokens, countMessageTokens, countPieceTokens, countTextTokens, warmUpTokenizer } from './token-counter.js'

describe('token counter', () => {
  it('counts text with o200k_base', () => {
    warmUpTokenizer()
    expect(countTextTokens('')).toBe(0)
    expect(countTextTokens('hello world')).toBe(2)
    expect(countTextTokens('hello world '.repeat(100))).toBeGreaterThan(150)
  })

  it('counts a pre-tokenizer piece as encode does (words, numbers, punctuation, whitespace, accents, CJK, emoji)', () => {
    const exact = new Tiktoken(o200k_base)
    const pattern = new RegExp(o200k_base.pat_str, 'gu')
    const text =
      "Hello, World! It's 2024-11-15: naïve café déjà-vu — Straße ÆØÅ. 東京都の天気は晴れ。 Привет мир 🙂👍🏽 \t\t x  \n\n\n  y <|endoftext|> " +
      'supercalifragilisticexpialidocious antidisestablishmentarianism 3.14159 0x1F ~~~ ```js\nconst a = b?.c ?? 42;\n```'
    const pieces = [...text.matchAll(pattern)].map((m) => m[0])
    expect(pieces.length).toBeGreaterThan(40)
    for (const piece of pieces) expect([piece, countPieceTokens(piece)]).toEqual([piece, exact.encode(piece, [], []).length])
    expect(countPieceTokens('')).toBe(0)
  })

  it('counts a whole text exactly as encode does, a piece at a time', () => {
    const exact = new Tiktoken(o200k_base)
    const texts = [
      "Hello, World! It's 2024-11-15: naïve café déjà-vu — Straße ÆØÅ. 東京都の天気は晴れ。 Привет мир 🙂👍🏽 \t\t x  \n\n\n  y <|endoftext|> ",
      'supercalifragilisticexpialidocious antidisestablishmentarianism 3.14159 0x1F ~~~ ```js\nconst a = b?.c ?? 42;\n```',
      'user',
      'assistant',
      'You are a helpful assistant. Answer briefly.\n\nUser: what is the capital of France?',
    ]
    for (const text of texts) expect([text, countTextTokens(text)]).toEqual([text, exact.encode(text, [], []).length])
  })

  it("holds js-tiktoken's rank for every one of o200k_base's tokens", () => {
    const exact = new Tiktoken(o200k_base) as unknown as { rankMap: Map<string, number> }
    const ours = o200kRanks()
    expect(ours.size).toBe(exact.rankMap.size)
    for (const [joined, rank] of exact.rankMap) {
      const key = bytesKey(Uint8Array.from(joined.split(',').map(Number)))
      if (ours.get(key) !== rank) expect([joined, ours.get(key)]).toEqual([joined, rank])
    }
  })

  it('treats special-token text as plain text instead of throwing', () => {
    expect(countTextTokens('a <|endoftext|> b')).toBeGreaterThan(3)
  })

  it('stays fast and close on long runs without (or of only) whitespace', () => {
    const started = performance.now()
    const letters = countTextTokens('a'.repeat(200_000))
    const chinese = countTextTokens('我们今天讨论的问题是如何在分布式系统中实现一致性以及性能之间的平衡'.repeat(300))
    const spaces = countTextTokens(`start${' '.repeat(50_000)}end`)
    const emoji = countTextTokens('😀'.repeat(1_000))
    // A guard against super-linear regex backtracking (minutes on these inputs), loose enough for a
    // loaded machine: it is not a speed measurement.
    expect(performance.now() - started).toBeLessThan(15_000)
    expect(letters).toBeGreaterThan(0)
    expect(chinese).toBeGreaterThan(6_000)
    expect(spaces).toBeGreaterThan(2)
    expect(emoji).toBeGreaterThanOrEqual(1_000)
  })

  it('slicing long runs stays close to the exact count', () => {
    const exact = new Tiktoken(o200k_base)
    const samples = [
      '我们今天讨论的问题是如何在分布式系统中实现一致性以及性能之间的平衡'.repeat(18),
      'aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ'.repeat(20),
      'a'.repeat(2_000),
    ]
    for (const text of samples) {
      const want = exact.encode(text, [], []).length
      expect(Math.abs(countTextTokens(text) - want) / want).toBeLessThan(0.05)
    }
    // Padding that o200k packs into very long tokens is over-counted, by at most one per slice.
    for (const text of [`intro ${'-'.repeat(300)} outro`, ' '.repeat(1_000)]) {
      const want = exact.encode(text, [], []).length
      expect(countTextTokens(text)).toBeGreaterThanOrEqual(want)
      expect(countTextTokens(text)).toBeLessThanOrEqual(want + Math.ceil(text.length / 32))
    }
  })

  it('the rank table is built once (later calls are fast)', () => {
    const started = performance.now()
    for (let i = 0; i < 1000; i++) countTextTokens(`message number ${i}`)
    // Rebuilding the rank table per call would take about half a second each, 1,000 times over.
    expect(performance.now() - started).toBeLessThan(10_000)
  })

  it("applies OpenAI's per-message overhead and reply priming", () => {
    // 3 framing + 1 ("user") + 2 ("hello world") per message; + 3 priming.
    expect(countChatMessageTokens({ role: 'user', content: 'hello world' })).toBe(6)
    expect(countMessageTokens([{ role: 'user', content: 'hello world' }])).toBe(9)
    expect(
      countMessageTokens([
        { role: 'system', content: 'hello world' },
        { role: 'user', content: 'hello world', name: 'bob' },
      ]),
    ).toBe(3 + 6 + (6 + 1 + countTextTokens('bob')))
  })

  it('counts parts, images, tool calls and tool results', () => {
    const one = () => 1
    expect(
      countChatMessageTokens(
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://x/z.png' } },
          ],
        },
        one,
      ),
    ).toBe(3 + 1 + 1 + 85 + 765)
    expect(
      countChatMessageTokens(
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        one,
      ),
    ).toBe(3 + 1 + (1 + 1 + 3))
    expect(countChatMessageTokens({ role: 'tool', tool_call_id: 'call_1', content: 'out' }, one)).toBe(3 + 1 + 1 + 1)
  })
})
