import { describe, expect, it } from 'vitest'
import { type RawToolCallDelta, type ToolCallDelta, createToolCallNormalizer } from './tool-call-normalizer.js'

const feed = (chunks: RawToolCallDelta[][]) => {
  const n = createToolCallNormalizer()
  const deltas: ToolCallDelta[] = []
  for (const chunk of chunks) deltas.push(...n.push(chunk))
  return { calls: n.calls(), deltas, size: n.size }
}

/** Rebuilds calls from the clean deltas the way an OpenAI client would. */
const replay = (deltas: ToolCallDelta[]) => {
  const calls: { id?: string; name: string; arguments: string }[] = []
  for (const d of deltas) {
    calls[d.index] ??= { name: '', arguments: '' }
    const c = calls[d.index] as { id?: string; name: string; arguments: string }
    if (d.id) c.id = d.id
    if (d.function.name) c.name += d.function.name
    c.arguments += d.function.arguments
  }
  return calls
}

describe('createToolCallNormalizer', () => {
  it('passes OpenAI-style fragments through', () => {
    const { calls, deltas } = feed([
      [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      [{ index: 0, function: { arguments: '{"city":' } }],
      [{ index: 0, function: { arguments: '"Paris"}' } }],
      [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } }],
      [{ index: 1, function: { arguments: '{}' } }],
    ])
    expect(calls).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_time', arguments: '{}' },
    ])
    expect(deltas[0]).toEqual({ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } })
    expect(deltas[1]).toEqual({ index: 0, type: 'function', function: { arguments: '{"city":' } })
    expect(replay(deltas)).toEqual(calls)
  })

  it('Ollama: complete calls, all at index 0, distinct ids', () => {
    const { calls, deltas } = feed([
      [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      [{ index: 0, id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }],
    ])
    expect(calls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ])
    expect(deltas.map((d) => d.index)).toEqual([0, 1])
  })

  it('Ollama: several complete calls in one chunk, same index, no ids, same name', () => {
    const { calls } = feed([
      [
        { index: 0, function: { name: 'lookup', arguments: '{"q":"a"}' } },
        { index: 0, function: { name: 'lookup', arguments: '{"q":"b"}' } },
        { index: 0, function: { name: 'other', arguments: { deep: [1] } } },
      ],
    ])
    expect(calls.map((c) => [c.name, c.arguments])).toEqual([
      ['lookup', '{"q":"a"}'],
      ['lookup', '{"q":"b"}'],
      ['other', '{"deep":[1]}'],
    ])
    expect(new Set(calls.map((c) => c.id)).size).toBe(3)
  })

  it('vLLM: id/name only on the first fragment, arguments null there', () => {
    const { calls, deltas } = feed([
      [{ index: 0, id: 'chatcmpl-tool-1', type: 'function', function: { name: 'search', arguments: null } }],
      [{ index: 0, function: { arguments: '{"q": ' } }],
      [{ index: 0, function: { arguments: '"cats"}' } }],
    ])
    expect(calls).toEqual([{ id: 'chatcmpl-tool-1', name: 'search', arguments: '{"q": "cats"}' }])
    expect(deltas[0]).toEqual({ index: 0, id: 'chatcmpl-tool-1', type: 'function', function: { name: 'search', arguments: '' } })
  })

  it('repeated name on every fragment is one call while its JSON is incomplete', () => {
    const { calls } = feed([
      [{ index: 0, id: 'x', function: { name: 'f', arguments: '{"a":' } }],
      [{ index: 0, function: { name: 'f', arguments: '1}' } }],
    ])
    expect(calls).toEqual([{ id: 'x', name: 'f', arguments: '{"a":1}' }])
  })

  it('llama.cpp: interleaved fragments, first seen out of index order', () => {
    const { calls, deltas } = feed([
      [{ index: 1, id: 'B', function: { name: 'second', arguments: '{"b"' } }],
      [{ index: 0, id: 'A', function: { name: 'first', arguments: '{"a"' } }],
      [{ index: 1, function: { arguments: ':2}' } }, { index: 0, function: { arguments: ':1' } }],
      [{ index: 0, function: { arguments: '}' } }],
    ])
    // Dense output indexes in order of first appearance.
    expect(calls).toEqual([
      { id: 'B', name: 'second', arguments: '{"b":2}' },
      { id: 'A', name: 'first', arguments: '{"a":1}' },
    ])
    expect(deltas.map((d) => d.index)).toEqual([0, 1, 0, 1, 1])
    expect(replay(deltas)).toEqual(calls)
  })

  it('llama.cpp: headers listed backwards in one chunk open their calls in index order', () => {
    const { calls, deltas } = feed([
      [
        { index: 2, id: 'C', function: { name: 'third', arguments: '' } },
        { index: 1, id: 'B', function: { name: 'second', arguments: '' } },
        { index: 0, id: 'A', function: { name: 'first', arguments: '' } },
      ],
      [{ index: 2, function: { arguments: '{}' } }, { index: 1, function: { arguments: '{}' } }, { index: 0, function: { arguments: '{}' } }],
    ])
    expect(calls.map((c) => c.id)).toEqual(['A', 'B', 'C'])
    expect(deltas.map((d) => [d.index, d.id])).toEqual([
      [0, 'A'],
      [1, 'B'],
      [2, 'C'],
      [2, undefined],
      [1, undefined],
      [0, undefined],
    ])
    expect(replay(deltas)).toEqual(calls)
  })

  it('sparse upstream indexes become dense', () => {
    const { calls, deltas } = feed([
      [{ index: 5, id: 'p', function: { name: 'a', arguments: '{}' } }],
      [{ index: 9, id: 'q', function: { name: 'b', arguments: '{}' } }],
    ])
    expect(calls.map((c) => c.id)).toEqual(['p', 'q'])
    expect(deltas.map((d) => d.index)).toEqual([0, 1])
  })

  it('mints call_ ids when the provider sends none, stable across fragments', () => {
    const { calls, deltas } = feed([
      [{ index: 0, function: { name: 'f', arguments: '{"x":' } }],
      [{ index: 0, id: '', function: { arguments: '1}' } }],
      [{ index: 1, function: { name: 'g' } }],
    ])
    expect(calls).toHaveLength(2)
    for (const c of calls) expect(c.id).toMatch(/^call_[0-9A-Za-z]{24}$/)
    expect(calls[0]?.arguments).toBe('{"x":1}')
    expect(calls[1]?.arguments).toBe('{}')
    expect(deltas[0]?.id).toBe(calls[0]?.id)
    expect(deltas[1]?.id).toBeUndefined()
  })

  it('fragments without index continue the last call', () => {
    const { calls } = feed([
      [{ id: 'c1', function: { name: 'f', arguments: '{"a":' } }],
      [{ function: { arguments: '1}' } }],
      [{ id: 'c2', function: { name: 'g', arguments: '{}' } }],
    ])
    expect(calls).toEqual([
      { id: 'c1', name: 'f', arguments: '{"a":1}' },
      { id: 'c2', name: 'g', arguments: '{}' },
    ])
  })

  it('a late provider id is adopted by the call it belongs to', () => {
    const n = createToolCallNormalizer({ newId: () => 'call_minted' })
    n.push([{ index: 0, function: { name: 'f', arguments: '{' } }])
    n.push([{ index: 0, id: 'late', function: { arguments: '}' } }])
    expect(n.calls()).toEqual([{ id: 'call_minted', name: 'f', arguments: '{}' }])
  })

  it('emits nothing for empty continuation fragments and ignores empty input', () => {
    const n = createToolCallNormalizer()
    expect(n.push(undefined)).toEqual([])
    expect(n.push([])).toEqual([])
    expect(n.push([{ index: 0, id: 'a', function: { name: 'f' } }])).toHaveLength(1)
    expect(n.push([{ index: 0, function: { arguments: '' } }])).toEqual([])
    expect(n.push([{ index: 0, function: null }])).toEqual([])
    expect(n.size).toBe(1)
  })
})
