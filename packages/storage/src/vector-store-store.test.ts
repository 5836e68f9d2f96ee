import { ApiError, type ChunkingStrategy, resolveChunkingStrategy } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Stores, createStores } from './stores.js'
import { type IngestStore, createIngestStore, parseIngestItem } from './vector-store-ingest.js'
import type { FileToAttach } from './vector-store-store.js'

let fx: RedisFixture
let stores: Stores
let ingest: IngestStore
beforeEach(async () => {
  fx = await createRedisFixture('vs')
  stores = createStores(fx.redis, fx.prefix)
  ingest = createIngestStore(fx.redis, stores.keys)
})
afterEach(() => fx.cleanup())

const auto: ChunkingStrategy = resolveChunkingStrategy(undefined)
const file = (file_id: string, attributes: FileToAttach['attributes'] = null): FileToAttach => ({ file_id, filename: `${file_id}.txt`, attributes, chunking_strategy: auto })
const list = { limit: 20, order: 'asc' as const }

/** Plays the worker: claims the store and settles its head file with `status`. */
async function settleHead(vsId: string, status: 'completed' | 'failed', usage = 100) {
  const { fence, head } = await ingest.claim('p1', vsId)
  const item = parseIngestItem(head!)
  if (item.kind !== 'ingest') throw new Error(`head is ${head}`)
  const started = await ingest.start('p1', vsId, item.fileId, item.gen, fence)
  if (started === 'stale' || started === 'fenced') return started
  return ingest.settle('p1', vsId, {
    fence,
    head: head!,
    fileId: item.fileId,
    gen: item.gen,
    status,
    lastError: status === 'failed' ? { code: 'invalid_file', message: 'bad' } : null,
    fileUsageBytes: usage,
    storeUsageBytes: usage * 2,
  })
}

describe('vector store store', () => {
  it('creates a store with files in_progress, queues each, and settles counts and status atomically', async () => {
    const vs = await stores.vectorStores.create('p1', { name: 'docs', files: [file('file-a'), file('file-b'), file('file-a')] })
    expect(vs).toMatchObject({ object: 'vector_store', name: 'docs', status: 'in_progress', usage_bytes: 0, file_counts: { in_progress: 2, total: 2, completed: 0 } })
    expect(await fx.redis.lrange(stores.keys.vectorStoreMailbox('p1', vs.id), 0, -1)).toEqual(['ingest:file-a:1', 'ingest:file-b:1'])

    expect(await settleHead(vs.id, 'completed')).toBe('OK')
    expect(await settleHead(vs.id, 'failed')).toBe('OK')
    const after = await stores.vectorStores.get('p1', vs.id)
    expect(after).toMatchObject({ status: 'completed', usage_bytes: 200, file_counts: { in_progress: 0, completed: 1, failed: 1, cancelled: 0, total: 2 } })
    expect(await stores.vectorStores.getFile('p1', vs.id, 'file-b')).toMatchObject({ status: 'failed', last_error: { code: 'invalid_file' }, filename: 'file-b.txt' })
    expect((await stores.vectorStores.listFiles('p1', vs.id, { ...list, filter: 'completed' })).data.map((f) => f.id)).toEqual(['file-a'])
    expect((await stores.vectorStores.listFiles('p1', vs.id, { ...list, filter: 'failed' })).data.map((f) => f.id)).toEqual(['file-b'])
    expect((await stores.vectorStores.listFiles('p1', vs.id, list)).data.map((f) => f.id)).toEqual(['file-a', 'file-b'])
  })

  it('a batch tracks its own counts; cancel moves its in_progress files to cancelled and the worker sees them stale', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [] })
    expect(vs.status).toBe('completed')
    const { batch } = await stores.vectorStores.attach('p1', vs.id, [file('file-a'), file('file-b')], 'vsfb_1')
    expect(batch).toMatchObject({ id: 'vsfb_1', object: 'vector_store.files_batch', status: 'in_progress', file_counts: { in_progress: 2, total: 2 } })
    expect(await settleHead(vs.id, 'completed')).toBe('OK')
    const cancelled = await stores.vectorStores.cancelBatch('p1', vs.id, 'vsfb_1')
    expect(cancelled).toMatchObject({ status: 'cancelled', file_counts: { in_progress: 0, completed: 1, cancelled: 1, total: 2 } })
    expect(await stores.vectorStores.get('p1', vs.id)).toMatchObject({ status: 'completed', file_counts: { completed: 1, cancelled: 1, in_progress: 0 } })
    expect(await settleHead(vs.id, 'completed')).toBe('stale')
    await expect(stores.vectorStores.cancelBatch('p1', vs.id, 'vsfb_1')).rejects.toMatchObject({ status: 400 })
    expect((await stores.vectorStores.listBatchFiles('p1', vs.id, 'vsfb_1', { ...list, filter: 'cancelled' })).data.map((f) => f.id)).toEqual(['file-b'])
  })

  it('a batch completes when its last file settles', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [] })
    await stores.vectorStores.attach('p1', vs.id, [file('file-a')], 'vsfb_2')
    expect(await settleHead(vs.id, 'failed')).toBe('OK')
    expect(await stores.vectorStores.getBatch('p1', vs.id, 'vsfb_2')).toMatchObject({ status: 'completed', file_counts: { failed: 1, total: 1 } })
  })

  it('attaching a file again re-queues it at a new generation; the old item is stale', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [file('file-a')] })
    await stores.vectorStores.attach('p1', vs.id, [file('file-a', { k: 'v2' })])
    expect(await stores.vectorStores.get('p1', vs.id)).toMatchObject({ file_counts: { in_progress: 1, total: 1 } })
    expect(await settleHead(vs.id, 'completed')).toBe('stale')
    const { fence, head } = await ingest.claim('p1', vs.id)
    expect(await ingest.pop('p1', vs.id, fence, head!)).toBe(true)
    expect(await settleHead(vs.id, 'completed')).toBe('OK')
    expect(await stores.vectorStores.getFile('p1', vs.id, 'file-a')).toMatchObject({ status: 'completed', attributes: { k: 'v2' } })
  })

  it('a stale fence commits nothing', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [file('file-a')] })
    const first = await ingest.claim('p1', vs.id)
    await ingest.claim('p1', vs.id)
    const item = parseIngestItem(first.head!) as { fileId: string; gen: string }
    expect(await ingest.start('p1', vs.id, item.fileId, item.gen, first.fence)).toBe('fenced')
    const r = await ingest.settle('p1', vs.id, { fence: first.fence, head: first.head!, fileId: item.fileId, gen: item.gen, status: 'completed', lastError: null, fileUsageBytes: 1, storeUsageBytes: 1 })
    expect(r).toBe('FENCED')
    expect(await stores.vectorStores.get('p1', vs.id)).toMatchObject({ status: 'in_progress' })
  })

  it('a batch peeks the mailbox head first; start counts an attempt only when asked to', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [file('file-a'), file('file-b'), file('file-c')] })
    const { fence } = await ingest.claim('p1', vs.id)
    const items = await ingest.peek('p1', vs.id, 2)
    expect(items).toEqual(['ingest:file-a:1', 'ingest:file-b:1'])
    const [a, b] = items.map(parseIngestItem) as { fileId: string; gen: string }[]
    expect(await ingest.start('p1', vs.id, a!.fileId, a!.gen, fence)).toMatchObject({ attempts: 1 })
    expect(await ingest.start('p1', vs.id, b!.fileId, b!.gen, fence, { count: false })).toMatchObject({ attempts: 0, filename: 'file-b.txt' })
    expect(await ingest.start('p1', vs.id, a!.fileId, a!.gen, fence, { count: false })).toMatchObject({ attempts: 1 })
    expect(await ingest.start('p1', vs.id, a!.fileId, a!.gen, fence)).toMatchObject({ attempts: 2 })
    // Looking is checked like counting: a newer claim, or a file no longer attached at that generation.
    expect(await ingest.start('p1', vs.id, b!.fileId, 'stale-gen', fence, { count: false })).toBe('stale')
    await ingest.claim('p1', vs.id)
    expect(await ingest.start('p1', vs.id, b!.fileId, b!.gen, fence, { count: false })).toBe('fenced')
    expect(await fx.redis.llen(stores.keys.vectorStoreMailbox('p1', vs.id))).toBe(3)
  })

  it('removing a file moves the counts, queues chunk removal and unlinks it from the file', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [file('file-a'), file('file-b')] })
    expect(await stores.vectorStores.storesOfFile('p1', 'file-a')).toEqual([vs.id])
    await stores.vectorStores.removeFile('p1', vs.id, 'file-a')
    expect(await stores.vectorStores.get('p1', vs.id)).toMatchObject({ status: 'in_progress', file_counts: { in_progress: 1, total: 1 } })
    expect(await stores.vectorStores.storesOfFile('p1', 'file-a')).toEqual([])
    expect(await fx.redis.lrange(stores.keys.vectorStoreMailbox('p1', vs.id), 0, -1)).toEqual(['ingest:file-a:1', 'ingest:file-b:1', 'delete:file-a'])
    await expect(stores.vectorStores.removeFile('p1', vs.id, 'file-a')).rejects.toMatchObject({ status: 404, message: `No file found with id 'file-a' in vector store '${vs.id}'.` })
  })

  it('names an unknown store as such when asked for one of its files or batches', async () => {
    const noStore = { status: 404, message: "No vector store found with id 'vs_nope'." }
    await expect(stores.vectorStores.getFile('p1', 'vs_nope', 'file-a')).rejects.toMatchObject(noStore)
    await expect(stores.vectorStores.updateFileAttributes('p1', 'vs_nope', 'file-a', {})).rejects.toMatchObject(noStore)
    await expect(stores.vectorStores.getBatch('p1', 'vs_nope', 'vsfb_x')).rejects.toMatchObject(noStore)
    await expect(stores.vectorStores.listBatchFiles('p1', 'vs_nope', 'vsfb_x', { limit: 20, order: 'desc' })).rejects.toMatchObject(noStore)
    // A known store: the missing file or batch is named.
    const vs = await stores.vectorStores.create('p1', { files: [] })
    await expect(stores.vectorStores.getFile('p1', vs.id, 'file-a')).rejects.toMatchObject({ message: `No file found with id 'file-a' in vector store '${vs.id}'.` })
    await expect(stores.vectorStores.updateFileAttributes('p1', vs.id, 'file-a', {})).rejects.toMatchObject({ status: 404, message: `No file found with id 'file-a' in vector store '${vs.id}'.` })
    await expect(stores.vectorStores.getBatch('p1', vs.id, 'vsfb_x')).rejects.toMatchObject({ message: "No vector store file batch found with id 'vsfb_x'." })
    // Another project's store is unknown to this one.
    await expect(stores.vectorStores.getFile('p2', vs.id, 'file-a')).rejects.toMatchObject({ message: `No vector store found with id '${vs.id}'.` })
  })

  it('is scoped by project, refuses more than 10,000 files without writing, and deletes every key', async () => {
    const vs = await stores.vectorStores.create('p1', { files: [file('file-a')] })
    await expect(stores.vectorStores.get('p2', vs.id)).rejects.toMatchObject({ status: 404, message: `No vector store found with id '${vs.id}'.` })
    await expect(stores.vectorStores.attach('p2', vs.id, [file('file-x')])).rejects.toBeInstanceOf(ApiError)
    const many = Array.from({ length: 10_000 }, (_, i) => file(`file-${i}`))
    await expect(stores.vectorStores.attach('p1', vs.id, many)).rejects.toMatchObject({ status: 400 })
    expect(await stores.vectorStores.get('p1', vs.id)).toMatchObject({ file_counts: { total: 1 } })
    await stores.vectorStores.attach('p1', vs.id, [file('file-b')], 'vsfb_3')
    await stores.vectorStores.delete('p1', vs.id)
    await expect(stores.vectorStores.delete('p1', vs.id)).rejects.toMatchObject({ status: 404 })
    const [, left] = await fx.redis.scan(0, "MATCH", `${fx.prefix}:*`, "COUNT", 100_000)
    // Only the project's sequence counter remains.
    expect(left).toEqual([stores.keys.projectMeta('p1')])
  })

  it('expires after its last activity: status expired, writes refused', async () => {
    const vs = await stores.vectorStores.create('p1', { expires_after: { anchor: 'last_active_at', days: 1 }, files: [] })
    expect(vs.expires_at).toBe(vs.last_active_at! + 86400)
    // Move the clock of the stored object back two days.
    await fx.redis.hset(stores.keys.vectorStore('p1', vs.id), 'last_active_at', vs.last_active_at! - 2 * 86400, 'expires_at', vs.last_active_at! - 86400)
    expect((await stores.vectorStores.get('p1', vs.id)).status).toBe('expired')
    expect((await stores.vectorStores.list('p1', list)).data[0]!.status).toBe('expired')
    await expect(stores.vectorStores.attach('p1', vs.id, [file('file-a')])).rejects.toMatchObject({ status: 400 })
    await expect(stores.vectorStores.touch('p1', vs.id)).rejects.toMatchObject({ status: 400 })
  })

  it('update moves expires_at with expires_after and resets metadata on null', async () => {
    const vs = await stores.vectorStores.create('p1', { metadata: { a: '1' }, files: [] })
    const up = await stores.vectorStores.update('p1', vs.id, { name: 'n', metadata: null, expires_after: { anchor: 'last_active_at', days: 3 } })
    expect(up).toMatchObject({ name: 'n', metadata: {}, expires_at: vs.last_active_at! + 3 * 86400 })
    const off = await stores.vectorStores.update('p1', vs.id, { expires_after: null })
    expect(off).toMatchObject({ expires_after: null, expires_at: null })
  })
})
