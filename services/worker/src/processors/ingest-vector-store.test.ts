import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { type ChunkingStrategy, resolveChunkingStrategy } from '@threadwork/domain'
import { createFileService } from '@threadwork/files'
import { createLogger } from '@threadwork/logger'
import { createLocalStorage } from '@threadwork/object-storage'
import { chunkText, chunkingOptionsOf, extractText, openVectorIndex } from '@threadwork/retrieval'
import { type Stores, createIngestStore, createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type IndexWriter, createIngestProcessor } from './ingest-vector-store.js'

let fx: RedisFixture
let stores: Stores
let dir: string
const project = 'proj'
const log = createLogger({ service: 'test', level: 'silent' })
beforeEach(async () => {
  fx = await createRedisFixture('ingest')
  stores = createStores(fx.redis, fx.prefix)
  dir = await mkdtemp(join(tmpdir(), 'tw-ingest-'))
})
afterEach(async () => {
  await fx.cleanup()
  await rm(dir, { recursive: true, force: true })
})

const auto = resolveChunkingStrategy(undefined)
const small: ChunkingStrategy = { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 50 } }
// As the worker chunks (vector-stores.ts): the strategy's options, `auto` for any other type.
const chunk = (text: string, strategy: ChunkingStrategy) => chunkText(text, chunkingOptionsOf(strategy.type === 'static' ? strategy : null))
const chunksOf = (text: string, strategy: ChunkingStrategy) => chunk(text, strategy).map((c) => c.text)
const textOf = (i: number) => Array.from({ length: 300 }, (_, w) => `file${i} word${w} of a document about topic ${i % 3}.`).join(' ')

/**
 * A drain over real Redis, files in a local object store and a LanceDB index in a temp dir (no
 * embedding model: keyword-only), with `events` recording each File read and each index commit.
 */
async function setup(batchMaxFiles: number, duringWrite?: (n: number, events: string[]) => Promise<void>) {
  const storage = createLocalStorage({ kind: 'local', root: dir })
  const files = createFileService({ store: stores.files, storage, maxFileBytes: 1e8 })
  const events: string[] = []
  const location = storage.lanceLocation('vector-index')
  let writes = 0
  const drain = createIngestProcessor({
    ingest: createIngestStore(fx.redis, stores.keys),
    log,
    async readFile(p, fileId) {
      events.push(`read ${fileId}`)
      const content = await files.openContent(p, fileId)
      return { bytes: new Uint8Array(await buffer(content.stream)), filename: content.filename, contentType: content.contentType }
    },
    extractText,
    chunk,
    embed: null,
    async openIndex(id) {
      const index = await openVectorIndex(location, id)
      const writer: IndexWriter = Object.create(index)
      writer.replaceFilesChunks = async (batch, opts) => {
        const n = ++writes
        events.push(`write ${n} start${opts?.background ? ' (background maintenance)' : ''}`)
        await duringWrite?.(n, events)
        const written = await index.replaceFilesChunks(batch, opts)
        events.push(`write ${n} end`)
        return written
      }
      return writer
    },
    dropIndex: async () => {},
    maxFileAttempts: 3,
    batchMaxFiles,
  })
  const upload = async (i: number) =>
    (await files.createFromBytes(project, { filename: `doc-${i}.txt`, purpose: 'assistants', bytes: Buffer.from(textOf(i)) })).id
  const indexOf = (vsId: string) => openVectorIndex(location, vsId)
  return { drain, events, upload, indexOf }
}

describe('ingestion drain: the next batch is prepared while the current one is written (issue 10: ingestion MB/s)', () => {
  it("reads the next batch's files during the current batch's index commit, each once, and indexes exactly what it would file by file", async () => {
    const ids: string[] = []
    // Each commit (but the last) is held until the next batch's files have been read: a drain that
    // read them only after the commit would never get there, and the wait would fail the test. A
    // fixed-length commit instead made the order a race a busy machine lost now and then.
    const nextBatch: Record<number, number[]> = { 1: [2, 3], 2: [4] }
    const { drain, events, upload, indexOf } = await setup(2, async (n, events) => {
      const wanted = (nextBatch[n] ?? []).map((i) => `read ${ids[i]}`)
      await vi.waitFor(() => expect(events).toEqual(expect.arrayContaining(wanted)), { timeout: 20_000, interval: 10 })
    })
    for (let i = 0; i < 5; i++) ids.push(await upload(i))
    const vs = await stores.vectorStores.create(project, {
      files: ids.map((file_id, i) => ({ file_id, filename: `doc-${i}.txt`, attributes: null, chunking_strategy: auto })),
    })
    await drain(project, vs.id)

    // Batch 2's files are read once batch 1's are, before batch 1's commit ends; batch 3's before batch 2's.
    expect(events.indexOf(`read ${ids[2]}`)).toBeLessThan(events.indexOf('write 1 end'))
    expect(events.indexOf(`read ${ids[3]}`)).toBeLessThan(events.indexOf('write 1 end'))
    expect(events.indexOf(`read ${ids[4]}`)).toBeLessThan(events.indexOf('write 2 end'))
    expect(events.indexOf(`read ${ids[2]}`)).toBeGreaterThan(events.indexOf(`read ${ids[1]}`))
    for (const id of ids) expect(events.filter((e) => e === `read ${id}`)).toHaveLength(1)
    // The index maintenance of a write with more files queued behind it runs behind the next batch; the last one's does not.
    expect(events.filter((e) => e.startsWith('write ') && !e.endsWith(' end'))).toEqual([
      'write 1 start (background maintenance)',
      'write 2 start (background maintenance)',
      'write 3 start',
    ])

    const index = await indexOf(vs.id)
    for (const [i, id] of ids.entries()) expect((await index.fileChunks(id)).map((c) => c.text)).toEqual(chunksOf(textOf(i), auto))
    const listed = await stores.vectorStores.listFiles(project, vs.id, { limit: 20, order: 'asc' })
    expect(listed.data.map((f) => f.status)).toEqual(Array(5).fill('completed'))
  })

  it('a file prepared ahead is used only as its own batch starts it: another strategy, a removal or a new attach meanwhile each count', async () => {
    let vsId = ''
    const ids: string[] = []
    // While batch 1 is written (batch 2 being prepared with batch 1's strategy): file 2 leaves the
    // store, and file 3 is attached again with other chunking (a new generation, queued last).
    const { drain, events, upload, indexOf } = await setup(2, async (n) => {
      if (n !== 1) return
      await stores.vectorStores.removeFile(project, vsId, ids[2]!)
      await stores.vectorStores.attach(project, vsId, [{ file_id: ids[3]!, filename: 'doc-3.txt', attributes: null, chunking_strategy: small }])
    })
    for (let i = 0; i < 5; i++) ids.push(await upload(i))
    // File 4 was attached with another strategy than the batch before it.
    const strategies = [auto, auto, auto, auto, small]
    const vs = await stores.vectorStores.create(project, {
      files: ids.map((file_id, i) => ({ file_id, filename: `doc-${i}.txt`, attributes: null, chunking_strategy: strategies[i]! })),
    })
    vsId = vs.id
    await drain(project, vs.id)

    const index = await indexOf(vs.id)
    expect(await index.fileChunks(ids[2]!)).toEqual([])
    expect((await index.fileChunks(ids[3]!)).map((c) => c.text)).toEqual(chunksOf(textOf(3), small))
    expect((await index.fileChunks(ids[4]!)).map((c) => c.text)).toEqual(chunksOf(textOf(4), small))
    for (const i of [0, 1]) expect((await index.fileChunks(ids[i]!)).map((c) => c.text)).toEqual(chunksOf(textOf(i), auto))
    // File 3 was prepared ahead at its first generation, then read again for its second.
    expect(events.filter((e) => e === `read ${ids[3]}`)).toHaveLength(2)
    const listed = await stores.vectorStores.listFiles(project, vs.id, { limit: 20, order: 'asc' })
    expect(new Map(listed.data.map((f) => [f.id, [f.status, f.chunking_strategy]]))).toEqual(
      new Map([
        [ids[0], ['completed', auto]],
        [ids[1], ['completed', auto]],
        [ids[3], ['completed', small]],
        [ids[4], ['completed', small]],
      ]),
    )
  })
})
