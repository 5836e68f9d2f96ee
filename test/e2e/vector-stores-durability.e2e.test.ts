/**
 * Vector store ingestion as durable jobs, against real worker processes: a worker SIGKILLed
 * mid-ingestion (another finishes the file, no duplicated chunk), a cancelled batch (nothing of it
 * indexed), PDF and DOCX files generated here, and openai-python's `file_batches.upload_and_poll`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openVectorIndex } from '@threadwork/retrieval'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { makeDocx, makePdf } from '../../packages/retrieval/src/test-support/fixtures.js'
import { ensurePythonSdk, pythonScenario } from './python-sdk.js'
import { type VectorStack, document, startVectorStack, storeSettled } from './vector-stores-support.js'

let stack: VectorStack
let client: OpenAI

beforeAll(async () => {
  stack = await startVectorStack({ workers: 0 })
  client = stack.client
})
afterAll(() => stack?.close())
beforeEach(async () => {
  await stack.killWorkers()
  stack.upstream.reset()
})

const upload = async (name: string, bytes: string | Buffer) => client.files.create({ file: await toFile(Buffer.from(bytes), name), purpose: 'assistants' })
/** The store's index as the worker wrote it (LanceDB on the API's storage directory). */
const indexOf = (vectorStoreId: string) => openVectorIndex({ uri: join(stack.api.storageDir!, 'lance', 'vector_stores') }, vectorStoreId)

describe('a worker killed mid-ingestion (SIGKILL)', () => {
  it('another worker finishes the file; its chunks are in the index once each', async () => {
    const a = await stack.startWorker()
    // The first embeddings call hangs: worker A dies holding the store's drain.
    stack.upstream.respondEmbeddingsOnce({ status: 200, delayMs: 120_000 })
    const file = await upload('sierra.md', document('sierra', 120))
    const vs = await client.vectorStores.create({ file_ids: [file.id], chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } } })
    await expect.poll(() => stack.upstream.embeddingRequests.length, { timeout: 20_000 }).toBeGreaterThan(0)
    const b = await stack.startWorker()
    a.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')

    const done = await storeSettled(client, vs.id, 60_000)
    expect(done.file_counts).toEqual({ in_progress: 0, completed: 1, failed: 0, cancelled: 0, total: 1 })
    expect(await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id })).toMatchObject({ status: 'completed', last_error: null })
    // A's attempt was counted before it died, then B's: at least twice (on a loaded machine B can
    // miss a lock renewal and be taken over once more), and committed once (the chunks below).
    expect(Number(await stack.api.redis.hget(stack.api.stores.keys.vectorStoreFile('test', vs.id, file.id), '_attempts'))).toBeGreaterThanOrEqual(2)
    const chunks = await (await indexOf(vs.id)).fileChunks(file.id)
    expect(chunks.length).toBeGreaterThan(5)
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i))
    expect(new Set(chunks.map((c) => c.text)).size).toBe(chunks.length)
    expect(b.child.exitCode).toBeNull()
  }, 180_000)

  it('a batch of files killed mid-way: nothing settles before the batch’s commit; each file completes, its chunks once each', async () => {
    const a = await stack.startWorker()
    // A takes the three files as one batch; the first file's embeddings come back, the second's hang: A dies before its commit.
    stack.upstream.respondEmbeddingsOnce({ status: 200 }, { status: 200, delayMs: 120_000 })
    const topics = ['alpha', 'bravo', 'charlie']
    const files = await Promise.all(topics.map((t) => upload(`${t}.md`, document(t, 60))))
    const vs = await client.vectorStores.create({
      file_ids: files.map((f) => f.id),
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } },
    })
    await expect.poll(() => stack.upstream.embeddingRequests.length, { timeout: 20_000 }).toBeGreaterThan(1)
    // One commit for the batch: the first file, though embedded, is not settled on its own.
    expect((await client.vectorStores.files.retrieve(files[0]!.id, { vector_store_id: vs.id })).status).toBe('in_progress')
    const b = await stack.startWorker()
    a.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')

    const done = await storeSettled(client, vs.id, 60_000)
    expect(done.file_counts).toEqual({ in_progress: 0, completed: 3, failed: 0, cancelled: 0, total: 3 })
    const index = await indexOf(vs.id)
    for (const [i, file] of files.entries()) {
      expect(await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id })).toMatchObject({ status: 'completed', last_error: null })
      const chunks = await index.fileChunks(file.id)
      expect(chunks.length).toBeGreaterThan(5)
      expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, n) => n))
      expect(new Set(chunks.map((c) => c.text)).size).toBe(chunks.length)
      expect(chunks.every((c) => c.text.includes(topics[i]!))).toBe(true)
    }
    // A charged the first file (then B, which took it alone); A's crash cost the other two nothing.
    const attempts = (f: { id: string }) => stack.api.redis.hget(stack.api.stores.keys.vectorStoreFile('test', vs.id, f.id), '_attempts')
    expect(Number(await attempts(files[0]!))).toBeGreaterThanOrEqual(2)
    expect(b.child.exitCode).toBeNull()
  }, 180_000)

  it('a file that cannot be read at all ends failed (server_error) after its attempts, not in_progress forever', async () => {
    await stack.startWorker({ INGEST_MAX_FILE_ATTEMPTS: '2' })
    // Every embeddings call fails: transient for each attempt, then the file gives up.
    stack.upstream.respondEmbeddingsOnce(...Array.from({ length: 40 }, () => ({ status: 500 })))
    const file = await upload('tango.md', document('tango', 5))
    const vs = await client.vectorStores.create({ file_ids: [file.id] })
    const done = await storeSettled(client, vs.id, 60_000)
    expect(done.file_counts).toMatchObject({ failed: 1, in_progress: 0 })
    expect((await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id })).last_error).toMatchObject({ code: 'server_error' })
  }, 180_000)
})

describe('cancelling a batch', () => {
  it('cancels its files still in progress; none of them is indexed', async () => {
    const vs = await client.vectorStores.create({ name: 'cancel me' })
    const files = await Promise.all(['uniform', 'victor', 'whiskey'].map((t) => upload(`${t}.md`, document(t))))
    const batch = await client.vectorStores.fileBatches.create(vs.id, { file_ids: files.map((f) => f.id) })
    expect(batch.status).toBe('in_progress')
    // No worker is running: nothing has started.
    const cancelled = await client.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: vs.id })
    expect(cancelled).toMatchObject({ id: batch.id, status: 'cancelled', file_counts: { in_progress: 0, cancelled: 3, total: 3 } })
    expect((await client.vectorStores.retrieve(vs.id)).file_counts).toMatchObject({ cancelled: 3, in_progress: 0 })
    const again = await client.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: vs.id }).catch((e) => e)
    expect(again).toBeInstanceOf(OpenAI.BadRequestError)
    expect((await client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: vs.id, filter: 'cancelled' })).data).toHaveLength(3)

    await stack.startWorker()
    // The worker skips the cancelled files: the mailbox empties and nothing gets indexed.
    await expect.poll(() => stack.api.redis.llen(stack.api.stores.keys.vectorStoreMailbox('test', vs.id)), { timeout: 20_000 }).toBe(0)
    expect((await client.vectorStores.search(vs.id, { query: 'uniform victor whiskey procedure' })).data).toEqual([])
    expect(await client.vectorStores.fileBatches.retrieve(batch.id, { vector_store_id: vs.id })).toMatchObject({ status: 'cancelled' })
  }, 180_000)
})

describe('PDF and DOCX', () => {
  it('indexes a generated PDF and DOCX; search finds each by its own words', async () => {
    await stack.startWorker()
    const pdf = await upload('report.pdf', await makePdf([['Quarterly xylophone revenue rose sharply.', 'The xylophone division grew.'], ['Page two mentions yodel tariffs.']]))
    const docx = await upload('memo.docx', await makeDocx('Zebra memo', ['The zebra crossing budget is approved.', 'Zebra paint arrives Monday.']))
    const vs = await client.vectorStores.create({ file_ids: [pdf.id, docx.id] })
    expect((await storeSettled(client, vs.id)).file_counts).toMatchObject({ completed: 2, failed: 0 })
    const xylophone = await client.vectorStores.search(vs.id, { query: 'xylophone revenue' })
    expect(xylophone.data[0]).toMatchObject({ file_id: pdf.id, filename: 'report.pdf' })
    const zebra = await client.vectorStores.search(vs.id, { query: 'zebra crossing budget' })
    expect(zebra.data[0]).toMatchObject({ file_id: docx.id, filename: 'memo.docx' })
    const parts = []
    for await (const part of client.vectorStores.files.content(docx.id, { vector_store_id: vs.id })) parts.push(part.text)
    expect(parts.join('\n')).toContain('The zebra crossing budget is approved.')
  }, 180_000)
})

const python = ensurePythonSdk()
if (!python.ok) console.warn(`Skipping the Python SDK vector store test: ${python.reason}`)

describe.skipIf(!python.ok)('openai-python', () => {
  it('vector_stores.file_batches.upload_and_poll uploads, attaches and polls until completed', async () => {
    await stack.startWorker()
    const dir = await mkdtemp(join(tmpdir(), 'tw-vs-py-'))
    try {
      await writeFile(join(dir, 'q1.md'), '# Q1\n\nQuarterly revenue was 10 million.')
      await writeFile(join(dir, 'q2.pdf'), await makePdf([['Second quarter statement.', 'Operating costs fell.']]))
      const out = await pythonScenario<Record<string, unknown>>(
        'batch_upload_and_poll',
        { baseURL: stack.api.baseURL, apiKey: stack.api.apiKey, assistantId: '' },
        { script: 'vector_store_scenarios.py', env: { TW_DATA_DIR: dir }, timeoutMs: 90_000 },
      )
      expect(out).toEqual({
        batch_status: 'completed',
        batch_object: 'vector_store.files_batch',
        file_counts: { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 },
        file_statuses: ['completed', 'completed'],
        store_status: 'completed',
        top_filename: 'q1.md',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
