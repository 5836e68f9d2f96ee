import { describe, expect, it } from 'vitest'
import { arrow, chunkBatch, chunkSchema, utf8Vector } from './lance-store.js'

describe('utf8Vector', () => {
  it('holds the same strings as Arrow’s own builder, multi-byte and empty ones included', () => {
    const values = ['', 'plain ascii', 'é ü ß', '日本語のテキスト', 'emoji 🙂 and a lone half \ud83d?', 'x'.repeat(5000)]
    const ours = utf8Vector(values)
    const theirs = arrow.vectorFromArray(values, new arrow.Utf8())
    expect(ours.length).toBe(values.length)
    expect(ours.nullCount).toBe(0)
    expect(ours.toArray()).toEqual(theirs.toArray())
    // The same bytes: a lone surrogate is written as U+FFFD by both.
    const bytes = (v: typeof ours) => Buffer.from(v.data[0]!.values.subarray(0, v.data[0]!.valueOffsets[values.length]))
    expect(bytes(ours).equals(bytes(theirs))).toBe(true)
    expect([...ours.data[0]!.valueOffsets]).toEqual([...theirs.data[0]!.valueOffsets.subarray(0, values.length + 1)])
    expect(utf8Vector([]).length).toBe(0)
  })

  it('round-trips a chunk batch through Arrow IPC (what LanceDB receives)', () => {
    const rows = ['α', '', 'three'].map((text, i) => ({ id: `f:${i}`, fileId: 'f', chunkIndex: i, filename: 'n.txt', attributes: '{}', text, vector: null }))
    const table = arrow.tableFromIPC(arrow.tableToIPC(chunkBatch(chunkSchema(null), rows)))
    expect(table.toArray().map((r) => [r.id, r.text])).toEqual([
      ['f:0', 'α'],
      ['f:1', ''],
      ['f:2', 'three'],
    ])
  })
})
