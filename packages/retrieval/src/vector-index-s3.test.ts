import { createObjectStorage } from '@threadwork/object-storage'
import { type TestS3Server, startTestS3Server } from '@threadwork/object-storage/testing'
import { fakeEmbedding } from '@threadwork/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CORPUS } from './test-support/corpus.js'
import { dropVectorIndex, openVectorIndex } from './vector-index.js'

// LanceDB on an S3-protocol server (s3rver), at the location packages/object-storage hands out:
// what workers on several hosts share.
let s3: TestS3Server
beforeAll(async () => {
  s3 = await startTestS3Server({ prefix: 'tw' })
})
afterAll(() => s3?.close())

describe('openVectorIndex on S3', () => {
  it('writes, searches (hybrid), replaces idempotently, deletes and drops', async () => {
    const storage = createObjectStorage(s3.config)
    const location = storage.lanceLocation('vs_s3test')
    expect(location.uri).toMatch(/^s3:\/\//)
    const index = await openVectorIndex(location, 'vs_s3test')
    for (const [key, file] of Object.entries(CORPUS)) {
      const chunks = file.paragraphs.map((text) => ({ text, vector: fakeEmbedding(text, 32) }))
      await index.replaceFileChunks(`file-${key}`, chunks, { filename: file.filename, attributes: { key } })
    }
    const hits = await index.search({ queries: ['late payment fee'], queryVectors: [fakeEmbedding('late payment fee', 32)] })
    expect(hits[0]).toMatchObject({ file_id: 'file-billing', attributes: { key: 'billing' } })
    // A second handle (another process's view) sees the same data.
    const reader = await openVectorIndex(storage.lanceLocation('vs_s3test'), 'vs_s3test')
    expect((await reader.search({ queries: ['zebras hay'] }))[0]?.file_id).toBe('file-zoo')
    await index.replaceFileChunks('file-zoo', [{ text: CORPUS.zoo.paragraphs[0]!, vector: fakeEmbedding(CORPUS.zoo.paragraphs[0]!, 32) }], {
      filename: 'zoo.md',
    })
    expect(await reader.fileChunks('file-zoo')).toEqual([{ index: 0, text: CORPUS.zoo.paragraphs[0] }])
    await index.deleteFile('file-billing')
    expect((await reader.search({ queries: ['invoice payment'], maxNumResults: 50 })).some((r) => r.file_id === 'file-billing')).toBe(false)
    expect(await reader.usageBytes()).toBeGreaterThan(0)
    await dropVectorIndex(location, 'vs_s3test')
    expect(await reader.search({ queries: ['zebras'] })).toEqual([])
  })
})
