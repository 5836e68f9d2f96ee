import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fakeEmbedding } from '@threadwork/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Embedder } from './embedder.js'
import { parseAttributeFilter } from './filters.js'
import { COLUMNS, arrow, chunkSchema, connectionFor, hasCjkTermsColumn, lancedb } from './lance-store.js'
import { CORPUS } from './test-support/corpus.js'
import { type ChunkInput, dropVectorIndex, openVectorIndex } from './vector-index.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-retrieval-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const location = () => ({ uri: dir })
let seq = 0
const storeId = () => `vs_test${++seq}_${Date.now()}`

/** An in-process embedder over the fake upstream's vectors (the HTTP path is embedder.test.ts's). */
const fakeEmbedder: Embedder = {
  model: 'fake-embed',
  dimensions: 64,
  embed: async (texts) => ({ vectors: texts.map((t) => fakeEmbedding(t, 64)), usage: { prompt_tokens: 0, total_tokens: 0 } }),
}
const withVectors = (texts: readonly string[]): ChunkInput[] => texts.map((text) => ({ text, vector: fakeEmbedding(text, 64) }))
const withoutVectors = (texts: readonly string[]): ChunkInput[] => texts.map((text) => ({ text }))

async function loadCorpus(vectorStoreId: string, vectors: boolean) {
  const index = await openVectorIndex(location(), vectorStoreId, { embedder: vectors ? fakeEmbedder : null })
  const attributes = {
    zoo: { category: 'leisure', year: 2023, public: true },
    billing: { category: 'finance', year: 2024, public: false },
    rocket: { category: 'engineering', year: 2025, public: true },
  }
  for (const [key, file] of Object.entries(CORPUS)) {
    const chunks = vectors ? withVectors(file.paragraphs) : withoutVectors(file.paragraphs)
    await index.replaceFileChunks(`file-${key}`, chunks, { filename: file.filename, attributes: attributes[key as keyof typeof attributes] })
  }
  return index
}

describe('openVectorIndex: hybrid search', () => {
  let index: Awaited<ReturnType<typeof openVectorIndex>>
  beforeAll(async () => {
    index = await loadCorpus(storeId(), true)
  })

  it('finds the right file among several, with OpenAI result shapes and scores in 0..1', async () => {
    const results = await index.search({ queries: ['When are the zebras fed?'] })
    expect(results[0]).toMatchObject({ file_id: 'file-zoo', filename: 'zoo-guide.md', attributes: { category: 'leisure', year: 2023, public: true } })
    expect(results[0]!.content).toEqual([{ type: 'text', text: expect.stringContaining('Zebras') }])
    for (const r of results) {
      expect(r.score).toBeGreaterThanOrEqual(0)
      expect(r.score).toBeLessThanOrEqual(1)
    }
    expect(results.map((r) => r.score)).toEqual([...results.map((r) => r.score)].sort((a, b) => b - a))
    const billing = await index.search({ queries: ['late payment fee on an invoice'] })
    expect(billing[0]!.file_id).toBe('file-billing')
    expect(billing[0]!.content[0]!.text).toContain('late payments')
  })

  it('runs several queries and fuses them', async () => {
    const results = await index.search({ queries: ['penguin feeding show', 'rocket engine shutdown on low chamber pressure'], maxNumResults: 4 })
    const top2 = results
      .slice(0, 2)
      .map((r) => r.file_id)
      .sort()
    expect(top2).toEqual(['file-rocket', 'file-zoo'])
  })

  it('finds by meaning alone when the keywords miss (vector side)', async () => {
    // "herring" only shares vocabulary with the penguin chunk, yet through a word the FTS
    // analyzer would also find: check that the vector list alone carries a hit by using a query
    // whose words are all in one chunk, then a query vector given directly.
    const results = await index.search({ queries: ['zzz-no-keyword-match'], queryVectors: [fakeEmbedding('telemetry link propellant tanks', 64)] })
    expect(results[0]!.file_id).toBe('file-rocket')
    expect(results[0]!.content[0]!.text).toContain('telemetry')
  })

  it('honours max_num_results, score_threshold and ranker none', async () => {
    const all = await index.search({ queries: ['zebra hay'], maxNumResults: 50 })
    expect(all.length).toBe(12) // every chunk is a candidate; non-matching ones score low
    expect(await index.search({ queries: ['zebra hay'], maxNumResults: 3 })).toHaveLength(3)
    const strict = await index.search({ queries: ['zebra hay'], scoreThreshold: 0.5, maxNumResults: 50 })
    expect(strict.length).toBeGreaterThan(0)
    expect(strict.length).toBeLessThan(all.length)
    expect(strict.every((r) => r.score >= 0.5)).toBe(true)
    const unranked = await index.search({ queries: ['zebra hay'], ranker: 'none', maxNumResults: 5 })
    expect(unranked[0]!.file_id).toBe('file-zoo')
    await expect(index.search({ queries: ['x'], maxNumResults: 51 })).rejects.toThrow(RangeError)
    await expect(index.search({ queries: ['x'], scoreThreshold: 1.5 })).rejects.toThrow(RangeError)
  })

  it('filters by attributes (comparison and compound) and by file ids', async () => {
    const q = { queries: ['fed feeding invoice engine'], maxNumResults: 50 }
    const files = async (filters: unknown, fileIds?: string[]) =>
      [...new Set((await index.search({ ...q, filters: parseAttributeFilter(filters), fileIds: fileIds ?? null })).map((r) => r.file_id))].sort()
    expect(await files({ type: 'eq', key: 'category', value: 'finance' })).toEqual(['file-billing'])
    expect(await files({ type: 'ne', key: 'category', value: 'finance' })).toEqual(['file-rocket', 'file-zoo'])
    expect(await files({ type: 'gte', key: 'year', value: 2024 })).toEqual(['file-billing', 'file-rocket'])
    expect(await files({ type: 'lt', key: 'year', value: 2024 })).toEqual(['file-zoo'])
    expect(await files({ type: 'in', key: 'category', value: ['leisure', 'engineering'] })).toEqual(['file-rocket', 'file-zoo'])
    expect(await files({ type: 'nin', key: 'category', value: ['leisure'] })).toEqual(['file-billing', 'file-rocket'])
    expect(await files({ type: 'eq', key: 'public', value: true })).toEqual(['file-rocket', 'file-zoo'])
    expect(
      await files({
        type: 'and',
        filters: [
          { type: 'eq', key: 'public', value: true },
          {
            type: 'or',
            filters: [
              { type: 'gt', key: 'year', value: 2024 },
              { type: 'eq', key: 'category', value: 'finance' },
            ],
          },
        ],
      }),
    ).toEqual(['file-rocket'])
    expect(await files({ type: 'eq', key: 'missing', value: 'x' })).toEqual([])
    expect(await files({ type: 'eq', key: 'public', value: true }, ['file-zoo', 'file-billing'])).toEqual(['file-zoo'])
  })

  it('keeps keys and values out of SQL: injection attempts are plain strings', async () => {
    const q = { queries: ['fed feeding invoice engine'], maxNumResults: 50 }
    const attempts = [
      { type: 'eq', key: 'category', value: "finance' OR '1'='1" },
      { type: 'eq', key: "category' OR 1=1 --", value: 'finance' },
      { type: 'ne', key: 'category', value: "x') OR file_id LIKE '%" },
    ]
    expect(await index.search({ ...q, filters: parseAttributeFilter(attempts[0]) })).toEqual([])
    expect(await index.search({ ...q, filters: parseAttributeFilter(attempts[1]) })).toEqual([])
    // `ne` with a value no file has matches every file, no more: the quote did not escape.
    const ne = await index.search({ ...q, filters: parseAttributeFilter(attempts[2]) })
    expect(new Set(ne.map((r) => r.file_id)).size).toBe(3)
    // A file id that is not an id is ignored, not spliced into SQL.
    expect(await index.search({ ...q, fileIds: ["file-zoo') OR ('1'='1"] })).toEqual([])
  })
})

describe('openVectorIndex: keyword-only (no embedding model)', () => {
  it('searches by BM25 and scores by query-term coverage', async () => {
    const index = await loadCorpus(storeId(), false)
    const results = await index.search({ queries: ['Which payment method gets the refund?'] })
    expect(results[0]!.file_id).toBe('file-billing')
    expect(results[0]!.content[0]!.text).toContain('Refunds')
    // Chunks sharing no word with the query are not returned at all (BM25 finds no match).
    expect(results.every((r) => r.file_id === 'file-billing')).toBe(true)
    // An embedder given at search time does not matter: the table has no vectors.
    const again = await (await openVectorIndex(location(), index.vectorStoreId, { embedder: fakeEmbedder })).search({ queries: ['refund'] })
    expect(again[0]!.file_id).toBe('file-billing')
  })

  it('gains vectors when an embedding model is configured later; old chunks stay keyword-searchable', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id, { embedder: fakeEmbedder })
    await index.replaceFileChunks('file-old', withoutVectors(['Old manual about carburettor tuning.']), { filename: 'old.txt' })
    await index.replaceFileChunks('file-new', withVectors(['New manual about electric motor cooling.']), { filename: 'new.txt' })
    expect((await index.search({ queries: ['carburettor'] }))[0]!.file_id).toBe('file-old')
    expect((await index.search({ queries: ['electric motor'] }))[0]!.file_id).toBe('file-new')
    await expect(index.replaceFileChunks('file-x', [{ text: 'x', vector: [1, 0, 0] }], { filename: 'x.txt' })).rejects.toThrow(/64-dimensional/)
  })
})

describe('openVectorIndex: text without spaces between words (Chinese, Japanese, Korean)', () => {
  // The seed tutorial's users: Chinese documents, Chinese questions, no embedding model (the default).
  const ZH = {
    'file-pump': ['液压泵的额定压力为40巴。每运行2000小时更换一次泵密封件。首次启动前请排出液压管路中的空气。', '水泵手册.txt'],
    'file-bread': ['面包面团需要揉十分钟，然后在温暖的地方发酵一小时。以220度烘烤至金黄色。', '面包.md'],
    'file-lora': ['大模型微调通常使用LoRA方法，它冻结预训练权重，只训练低秩适配矩阵。', '大模型.txt'],
    'file-ja': ['ポンプのシールは2000時間ごとに交換してください。', 'ポンプ.txt'],
  } as const
  const load = async (index: Awaited<ReturnType<typeof openVectorIndex>>) => {
    for (const [fileId, [text, filename]] of Object.entries(ZH)) await index.replaceFileChunks(fileId, withoutVectors([text]), { filename })
  }

  it('keyword-only: a question in Chinese finds the right file by shared characters, the other files not at all', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id)
    await load(index)
    // Built once CJK text arrives (the English stores above and below have none).
    expect((await (await (await connectionFor(location())).openTable(id)).listIndices()).map((i) => i.name)).toContain('cjk_terms_idx')
    const pump = await index.search({ queries: ['液压泵的额定压力是多少？'] })
    expect(pump[0]).toMatchObject({ file_id: 'file-pump', filename: '水泵手册.txt' })
    expect(pump[0]!.score).toBeGreaterThan(0.5)
    expect(pump.map((r) => r.file_id)).not.toContain('file-bread')
    expect((await index.search({ queries: ['面团要揉多久'] }))[0]!.file_id).toBe('file-bread')
    // A Latin word inside a CJK sentence (one token to the text index) is found from a CJK query.
    expect((await index.search({ queries: ['LoRA微调'] }))[0]!.file_id).toBe('file-lora')
    expect((await index.search({ queries: ['シールの交換'] }))[0]!.file_id).toBe('file-ja')
    // English queries are unchanged (the text index alone).
    expect(await index.search({ queries: ['hydraulic pump'] })).toEqual([])
  })

  it('a store made before the cjk_terms column gets it on its next write; that write is found, older rows stay as they were', async () => {
    const id = storeId()
    const db = await connectionFor(location())
    // As the previous release wrote it: no cjk_terms column, one file indexed (BM25 index built).
    const oldSchema = new arrow.Schema(chunkSchema(null).fields.filter((f) => f.name !== COLUMNS.cjkTerms))
    const table = await db.createEmptyTable(id, oldSchema)
    await table.add([{ id: 'file-old:0', file_id: 'file-old', chunk_index: 0, filename: 'old.txt', attributes: '{}', text: 'Carburettor tuning notes.' }])
    await table.createIndex(COLUMNS.text, { config: lancedb.Index.fts(), replace: true })
    const index = await openVectorIndex(location(), id)
    await load(index)
    expect(hasCjkTermsColumn(await (await db.openTable(id)).schema())).toBe(true)
    expect((await index.search({ queries: ['额定压力'] }))[0]!.file_id).toBe('file-pump')
    expect((await index.search({ queries: ['carburettor'] }))[0]!.file_id).toBe('file-old')
  })
})

describe('openVectorIndex: ANN vector index', () => {
  it('trains an IVF-PQ index once the store is big enough and still finds the right chunk', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id, { embedder: fakeEmbedder, vectorIndexMinRows: 600 })
    const filler = (f: number) =>
      Array.from({ length: 150 }, (_, i) => `Filler note ${f}-${i} on subject ${(f * 150 + i) % 97} with code w${(f * 31 + i) % 211}.`)
    for (let f = 0; f < 4; f++) await index.replaceFileChunks(`file-filler${f}`, withVectors(filler(f)), { filename: `filler${f}.txt` })
    await index.replaceFileChunks('file-zoo', withVectors(CORPUS.zoo.paragraphs), { filename: CORPUS.zoo.filename })
    const { connect } = await import('@lancedb/lancedb')
    const table = await (await connect(dir)).openTable(id)
    expect((await table.listIndices()).map((i) => i.name).sort()).toEqual(['file_id_idx', 'text_idx', 'vector_idx'])
    // Rows written after training are searched too (scanned until the next optimize folds them in).
    await index.replaceFileChunks('file-rocket', withVectors(CORPUS.rocket.paragraphs), { filename: CORPUS.rocket.filename })
    expect((await index.search({ queries: ['giraffes lettuce platform'] }))[0]).toMatchObject({ file_id: 'file-zoo' })
    const byVector = await index.search({ queries: ['-'], queryVectors: [fakeEmbedding('payload fairing separates altitude', 64)] })
    expect(byVector[0]).toMatchObject({ file_id: 'file-rocket' })
    await index.optimize()
    await table.checkoutLatest()
    expect((await table.indexStats('vector_idx'))?.numUnindexedRows).toBe(0)
    expect((await index.search({ queries: ['payload fairing altitude'] }))[0]).toMatchObject({ file_id: 'file-rocket' })
  })

  it('optimize() of a bulk load written without maintenance compacts it to one fragment, then builds the indexes', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id, { embedder: fakeEmbedder, autoMaintain: false })
    for (const [key, file] of Object.entries(CORPUS)) await index.replaceFileChunks(`file-${key}`, withVectors(file.paragraphs), { filename: file.filename })
    const { connect } = await import('@lancedb/lancedb')
    const table = await (await connect(dir)).openTable(id)
    expect((await table.stats()).fragmentStats.numFragments).toBe(Object.keys(CORPUS).length)
    await index.optimize()
    await table.checkoutLatest()
    expect((await table.stats()).fragmentStats.numFragments).toBe(1)
    expect((await table.listIndices()).map((i) => i.name).sort()).toEqual(['file_id_idx', 'text_idx'])
    expect((await table.indexStats('text_idx'))?.numUnindexedRows).toBe(0)
    expect((await index.search({ queries: ['payload fairing altitude'] }))[0]).toMatchObject({ file_id: 'file-rocket' })
  })
})

describe('openVectorIndex: writes', () => {
  it('replaceFileChunks is idempotent and atomic per file; deleteFile and updateAttributes', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id)
    const paragraphs = CORPUS.rocket.paragraphs
    const first = await index.replaceFileChunks('file-r', withVectors(paragraphs), { filename: 'r.pdf', attributes: { v: 1 } })
    expect(first.chunks).toBe(4)
    expect(first.usageBytes).toBe(paragraphs.reduce((n, p) => n + Buffer.byteLength(p), 0) + 4 * 64 * 4)
    // A retry (e.g. after a crash between the write and the job's acknowledgement) changes nothing.
    await index.replaceFileChunks('file-r', withVectors(paragraphs), { filename: 'r.pdf', attributes: { v: 1 } })
    expect((await index.fileChunks('file-r')).map((c) => c.text)).toEqual([...paragraphs])
    // Re-chunked shorter: the extra chunks go in the same commit.
    await index.replaceFileChunks('file-r', withVectors(paragraphs.slice(0, 2)), { filename: 'r.pdf', attributes: { v: 2 } })
    expect(await index.fileChunks('file-r')).toEqual([
      { index: 0, text: paragraphs[0] },
      { index: 1, text: paragraphs[1] },
    ])
    expect(await index.search({ queries: ['payload fairing'] })).not.toContainEqual(
      expect.objectContaining({ content: [{ type: 'text', text: paragraphs[3] }] }),
    )

    await index.replaceFileChunks('file-z', withVectors(CORPUS.zoo.paragraphs), { filename: 'z.md' })
    await index.updateAttributes('file-r', { v: 3, team: "o'brien" })
    const hit = await index.search({ queries: ['telemetry'], filters: parseAttributeFilter({ type: 'eq', key: 'team', value: "o'brien" }) })
    expect(hit[0]).toMatchObject({ file_id: 'file-r', attributes: { v: 3, team: "o'brien" } })

    await index.deleteFile('file-r')
    await index.deleteFile('file-r') // idempotent
    expect(await index.fileChunks('file-r')).toEqual([])
    expect((await index.search({ queries: ['telemetry propellant'], maxNumResults: 50 })).every((r) => r.file_id === 'file-z')).toBe(true)
    expect(await index.usageBytes()).toBeGreaterThan(0)
  })

  it('replaceFilesChunks writes several files in one commit, searchable before any index update, and a repeat duplicates nothing', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id)
    // The first write's rows are folded into the BM25 index; the batch after it stays unindexed (below every maintenance threshold).
    await index.replaceFileChunks('file-first', withVectors(['A first file about lighthouse keepers.']), { filename: 'first.txt' })
    const batch = [
      { fileId: 'file-zoo', chunks: withVectors(CORPUS.zoo.paragraphs), filename: 'zoo.md', attributes: { shelf: 'a' } },
      { fileId: 'file-rocket', chunks: withVectors(CORPUS.rocket.paragraphs), filename: 'rocket.pdf' },
      { fileId: 'file-none', chunks: [], filename: 'none.txt' },
    ]
    const written = await index.replaceFilesChunks(batch)
    expect(written.map((w) => w.chunks)).toEqual([CORPUS.zoo.paragraphs.length, CORPUS.rocket.paragraphs.length, 0])
    expect(written[1]!.usageBytes).toBe(CORPUS.rocket.paragraphs.reduce((n, p) => n + Buffer.byteLength(p), 0) + CORPUS.rocket.paragraphs.length * 64 * 4)
    const { lancedb } = await import('./lance-store.js')
    const table = await (await lancedb.connect(dir)).openTable(id)
    expect((await table.indexStats('text_idx'))?.numUnindexedRows).toBeGreaterThan(0)
    // Unindexed rows are scanned: both files answer keyword and hybrid searches at once.
    expect((await index.search({ queries: ['giraffes lettuce platform'] }))[0]).toMatchObject({ file_id: 'file-zoo', attributes: { shelf: 'a' } })
    expect((await index.search({ queries: ['payload fairing'], queryVectors: [fakeEmbedding('payload fairing', 64)] }))[0]).toMatchObject({
      file_id: 'file-rocket',
    })

    // The same batch again (a redo after a crash between the write and the commit), one file now shorter: each chunk once.
    await index.replaceFilesChunks([batch[0]!, { ...batch[1]!, chunks: withVectors(CORPUS.rocket.paragraphs.slice(0, 2)) }])
    expect((await index.fileChunks('file-zoo')).map((c) => c.text)).toEqual([...CORPUS.zoo.paragraphs])
    expect((await index.fileChunks('file-rocket')).map((c) => c.text)).toEqual(CORPUS.rocket.paragraphs.slice(0, 2))
    expect((await index.fileChunks('file-first')).map((c) => c.text)).toEqual(['A first file about lighthouse keepers.'])

    // The writer idle: the unindexed rows (well over 1/32 of the indexed ones) are folded in; a maintenance with nothing new is a no-op.
    await index.maintain({ idle: true })
    await table.checkoutLatest()
    expect(await table.indexStats('text_idx')).toMatchObject({ numUnindexedRows: 0 })
    const version = await table.version()
    await index.maintain({ idle: true })
    await table.checkoutLatest()
    expect(await table.version()).toBe(version)

    await expect(index.replaceFilesChunks([batch[0]!, batch[0]!])).rejects.toThrow(RangeError)
    await expect(index.replaceFilesChunks([{ ...batch[0]!, fileId: 'file-new' }, { ...batch[1]!, chunks: withoutVectors(['x']) }])).rejects.toThrow(RangeError)
    expect(await index.fileChunks('file-new')).toEqual([])
  })

  it('an idle writer leaves a few new rows of a large store unindexed (no whole-store rewrite for them)', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id)
    await index.replaceFileChunks('file-big', withVectors(Array.from({ length: 64 }, (_, i) => `Paragraph ${i} about harbour cranes.`)), { filename: 'big.txt' })
    await index.replaceFileChunks('file-one', withVectors(['One line about lighthouse lenses.']), { filename: 'one.txt' })
    const { lancedb } = await import('./lance-store.js')
    const table = await (await lancedb.connect(dir)).openTable(id)
    // 1 new row against 64 indexed: under 1/32, so it stays scanned rather than rewriting the store.
    await index.maintain({ idle: true })
    await table.checkoutLatest()
    expect(await table.indexStats('text_idx')).toMatchObject({ numIndexedRows: 64, numUnindexedRows: 1 })
    expect((await index.search({ queries: ['lighthouse lenses'] }))[0]).toMatchObject({ file_id: 'file-one' })
  })

  it('a reader opened elsewhere sees writes at once; a dropped or never-written store reads as empty', async () => {
    const id = storeId()
    const writer = await openVectorIndex(location(), id)
    const reader = await openVectorIndex({ uri: dir, storageOptions: {} }, id)
    expect(await reader.search({ queries: ['zebra'] })).toEqual([])
    expect(await reader.fileChunks('file-a')).toEqual([])
    expect(await reader.usageBytes()).toBe(0)
    await writer.replaceFileChunks('file-a', withoutVectors(['A zebra crossing.']), { filename: 'a.txt' })
    expect((await reader.search({ queries: ['zebra'] }))[0]?.file_id).toBe('file-a')
    await writer.replaceFileChunks('file-b', withoutVectors(['Another zebra.']), { filename: 'b.txt' })
    expect(new Set((await reader.search({ queries: ['zebra'] })).map((r) => r.file_id))).toEqual(new Set(['file-a', 'file-b']))
    await dropVectorIndex(location(), id)
    await dropVectorIndex(location(), id) // idempotent
    expect(await reader.search({ queries: ['zebra'] })).toEqual([])
  })

  it('a background write returns before its rows are folded in, they are found meanwhile, and the next maintenance waits for the fold-in', async () => {
    const id = storeId()
    const index = await openVectorIndex(location(), id)
    const table = async () => (await connectionFor(location())).openTable(id)
    const many = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} paragraph ${i}: the ${tag} survey of harbour lighthouses, lenses and keepers ${i}.`)
    await index.replaceFilesChunks([{ fileId: 'file-a', chunks: withoutVectors(many('northern', 4000)), filename: 'a.txt' }], { background: true })
    // The fold-in of 4,000 rows is still running (tens of ms at the least): none indexed yet…
    expect(await (await table()).indexStats('text_idx')).toMatchObject({ numIndexedRows: 0 })
    // …and they are found through the index's analyzer all the same: `Lighthouse keeper` finds
    // "lighthouses, … keepers" (lower-cased, stemmed). With no index at all LanceDB's scan does
    // neither and finds nothing.
    expect((await index.search({ queries: ['Lighthouse keeper'] }))[0]?.file_id).toBe('file-a')
    // A later write's maintenance runs after the fold-in, never beside it.
    await index.replaceFilesChunks([{ fileId: 'file-b', chunks: withoutVectors(many('southern', 200)), filename: 'b.txt' }])
    const after = await table()
    expect(await after.indexStats('text_idx')).toMatchObject({ numIndexedRows: 4000, numUnindexedRows: 200 })
    // The writer's queue is empty: the idle round folds the rest in (200 ≥ 1/32 of 4,000).
    await index.maintain({ idle: true })
    await after.checkoutLatest()
    expect(await after.indexStats('text_idx')).toMatchObject({ numIndexedRows: 4200, numUnindexedRows: 0 })
  })

  it('refuses ids that are not ids', async () => {
    await expect(openVectorIndex(location(), '../etc')).rejects.toThrow(RangeError)
    const index = await openVectorIndex(location(), storeId())
    await expect(index.replaceFileChunks("file-1' OR '1'='1", withoutVectors(['x']), { filename: 'x' })).rejects.toThrow(RangeError)
    await expect(index.deleteFile('file 1')).rejects.toThrow(RangeError)
  })
})
