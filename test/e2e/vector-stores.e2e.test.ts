/**
 * The Vector stores API through the official node SDK against real worker processes: stores with
 * files, the SDK pollers (files.createAndPoll/uploadAndPoll, fileBatches.createAndPoll/uploadAndPoll),
 * list filters, attributes, search with comparison and compound filters, parsed content, batch
 * cancel, unreadable files, expiry, deletion (store, store file, File), tool_resources helpers and
 * message attachments; and bad input answered 4xx with OpenAI's body and nothing stored.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, idOf, recentSeconds, sdk } from './support.js'
import { type VectorStack, document, startVectorStack, storeSettled } from './vector-stores-support.js'

let stack: VectorStack
let client: OpenAI
let other: OpenAI

beforeAll(async () => {
  stack = await startVectorStack({
    api: {
      apiKeys: new Map([
        ['sk-alpha', 'alpha'],
        ['sk-beta', 'beta'],
      ]),
    },
  })
  client = stack.client
  other = sdk(stack.api, 'sk-beta')
})
afterAll(() => stack?.close())

const upload = async (name: string, text: string | Buffer, purpose: OpenAI.FilePurpose = 'assistants') =>
  client.files.create({ file: await toFile(Buffer.from(text), name), purpose })

const poll = { pollIntervalMs: 100 }

describe('vector stores with files', () => {
  it('creates a store with file_ids, chunking_strategy, expires_after and metadata; it completes with counts and usage', async () => {
    const a = await upload('alpha.md', document('alpha'))
    const b = await upload('bravo.txt', document('bravo'))
    const vs = await client.vectorStores.create({
      name: 'manuals',
      file_ids: [a.id, b.id],
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } },
      expires_after: { anchor: 'last_active_at', days: 3 },
      metadata: { team: 'docs' },
    })
    expect(vs).toMatchObject({
      id: idOf('vs'),
      object: 'vector_store',
      name: 'manuals',
      status: 'in_progress',
      usage_bytes: 0,
      file_counts: { in_progress: 2, completed: 0, failed: 0, cancelled: 0, total: 2 },
      expires_after: { anchor: 'last_active_at', days: 3 },
      metadata: { team: 'docs' },
      created_at: recentSeconds(),
      last_active_at: recentSeconds(),
    })
    expect(vs.expires_at).toBe(vs.last_active_at! + 3 * 86400)
    const done = await storeSettled(client, vs.id)
    expect(done).toMatchObject({ status: 'completed', file_counts: { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 } })
    expect(done.usage_bytes).toBeGreaterThan(0)
    const files = await client.vectorStores.files.list(vs.id)
    expect(files.data.map((f) => f.id).sort()).toEqual([a.id, b.id].sort())
    for (const f of files.data) {
      expect(f).toMatchObject({ object: 'vector_store.file', vector_store_id: vs.id, status: 'completed', last_error: null })
      expect(f.chunking_strategy).toEqual({ type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } })
      expect(f.usage_bytes).toBeGreaterThan(0)
    }
    expect((await client.vectorStores.list()).data.map((s) => s.id)).toContain(vs.id)
  })

  it('files.createAndPoll, files.uploadAndPoll and fileBatches.uploadAndPoll work unchanged', async () => {
    const vs = await client.vectorStores.create({ name: 'pollers' })
    expect(vs).toMatchObject({ status: 'completed', file_counts: { total: 0 } })
    const f = await upload('charlie.md', document('charlie'))
    const attached = await client.vectorStores.files.createAndPoll(vs.id, { file_id: f.id, attributes: { kind: 'guide', year: 2024 } }, poll)
    expect(attached).toMatchObject({
      id: f.id,
      status: 'completed',
      attributes: { kind: 'guide', year: 2024 },
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } },
    })

    const uploaded = await client.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from(document('delta')), 'delta.md'), poll)
    expect(uploaded.status).toBe('completed')

    const batch = await client.vectorStores.fileBatches.uploadAndPoll(
      vs.id,
      { files: [await toFile(Buffer.from(document('echo')), 'echo.md'), await toFile(Buffer.from(document('foxtrot')), 'foxtrot.txt')] },
      poll,
    )
    expect(batch).toMatchObject({
      id: idOf('vsfb'),
      object: 'vector_store.files_batch',
      vector_store_id: vs.id,
      status: 'completed',
      file_counts: { completed: 2, total: 2, in_progress: 0 },
    })
    const inBatch = await client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: vs.id })
    expect(inBatch.data).toHaveLength(2)
    expect(await client.vectorStores.fileBatches.retrieve(batch.id, { vector_store_id: vs.id })).toMatchObject({ status: 'completed' })
    expect((await storeSettled(client, vs.id)).file_counts).toEqual({ in_progress: 0, completed: 4, failed: 0, cancelled: 0, total: 4 })
  })

  it('a batch with per-file attributes and chunking; search with comparison and compound filters; attributes update', async () => {
    const vs = await client.vectorStores.create({ name: 'search' })
    const [g, h, i] = await Promise.all([upload('golf.md', document('golf')), upload('hotel.md', document('hotel')), upload('india.md', document('india'))])
    const batch = await client.vectorStores.fileBatches.createAndPoll(
      vs.id,
      {
        files: [
          { file_id: g.id, attributes: { sport: 'golf', year: 2020, public: true } },
          {
            file_id: h.id,
            attributes: { sport: 'tennis', year: 2023, public: false },
            chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 0 } },
          },
          { file_id: i.id, attributes: { sport: 'golf', year: 2024, public: false } },
        ],
      },
      poll,
    )
    expect(batch.file_counts).toMatchObject({ completed: 3, total: 3 })

    const ids = async (q: Omit<OpenAI.VectorStores.VectorStoreSearchParams, 'query'>, query: string | string[] = ['procedure', 'manual']) =>
      // One result per chunk: a file with several matching chunks appears more than once.
      [...new Set((await client.vectorStores.search(vs.id, { query, ...q })).data.map((r) => r.file_id))].sort()

    const page = await client.vectorStores.search(vs.id, { query: 'hotel procedure', max_num_results: 5 })
    expect(page.data[0]).toMatchObject({ file_id: h.id, filename: 'hotel.md', attributes: { sport: 'tennis' } })
    expect(page.data[0]!.score).toBeGreaterThan(0)
    expect(page.data[0]!.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('hotel') })
    expect(page.data.length).toBeLessThanOrEqual(5)

    expect(await ids({ filters: { type: 'eq', key: 'sport', value: 'golf' } })).toEqual([g.id, i.id].sort())
    expect(await ids({ filters: { type: 'gte', key: 'year', value: 2023 } })).toEqual([h.id, i.id].sort())
    expect(await ids({ filters: { type: 'in', key: 'sport', value: ['tennis', 'chess'] } })).toEqual([h.id])
    expect(
      await ids({
        filters: {
          type: 'and',
          filters: [
            { type: 'eq', key: 'sport', value: 'golf' },
            { type: 'eq', key: 'public', value: false },
          ],
        },
      }),
    ).toEqual([i.id])
    expect(
      await ids({
        filters: {
          type: 'or',
          filters: [
            { type: 'lt', key: 'year', value: 2021 },
            {
              type: 'and',
              filters: [
                { type: 'ne', key: 'sport', value: 'golf' },
                { type: 'eq', key: 'public', value: false },
              ],
            },
          ],
        },
      }),
    ).toEqual([g.id, h.id].sort())

    const updated = await client.vectorStores.files.update(g.id, { vector_store_id: vs.id, attributes: { sport: 'chess', year: 2020 } })
    expect(updated.attributes).toEqual({ sport: 'chess', year: 2020 })
    await expect.poll(() => ids({ filters: { type: 'eq', key: 'sport', value: 'chess' } }), { timeout: 30_000 }).toEqual([g.id])
    expect(await ids({ filters: { type: 'eq', key: 'sport', value: 'golf' } })).toEqual([i.id])

    // rewrite_query: the page reports the keyword form that was searched.
    // (The SDK's page type drops `search_query`; read the body as sent.)
    const res = await fetch(`${stack.api.baseURL}/vector_stores/${vs.id}/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'What is the india procedure?', rewrite_query: true }),
    })
    const rewritten = (await res.json()) as { object: string; search_query: string[]; data: { file_id: string }[]; has_more: boolean; next_page: null }
    expect(rewritten).toMatchObject({ object: 'vector_store.search_results.page', search_query: ['india procedure'], has_more: false, next_page: null })
    expect(rewritten.data[0]?.file_id).toBe(i.id)

    // Activity moved last_active_at; the store is still completed.
    expect((await client.vectorStores.retrieve(vs.id)).last_active_at).toBeGreaterThanOrEqual(batch.created_at)
  })

  it('lists store files with a status filter; an unreadable file ends failed with last_error', async () => {
    const vs = await client.vectorStores.create({ name: 'mixed' })
    const good = await upload('juliet.md', document('juliet'))
    const brokenPdf = await upload('broken.pdf', 'this is not a PDF at all')
    const image = await upload('photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]))
    await client.vectorStores.fileBatches.createAndPoll(vs.id, { file_ids: [good.id, brokenPdf.id, image.id] }, poll)
    const failed = await client.vectorStores.files.list(vs.id, { filter: 'failed' })
    expect(failed.data.map((f) => f.id).sort()).toEqual([brokenPdf.id, image.id].sort())
    const byId = Object.fromEntries(failed.data.map((f) => [f.id, f]))
    expect(byId[brokenPdf.id]!.last_error).toMatchObject({ code: 'invalid_file', message: expect.any(String) })
    expect(byId[image.id]!.last_error).toMatchObject({ code: 'unsupported_file', message: expect.any(String) })
    expect((await client.vectorStores.files.list(vs.id, { filter: 'completed' })).data.map((f) => f.id)).toEqual([good.id])
    expect((await client.vectorStores.files.list(vs.id, { filter: 'in_progress' })).data).toEqual([])
    expect((await client.vectorStores.retrieve(vs.id)).file_counts).toEqual({ in_progress: 0, completed: 1, failed: 2, cancelled: 0, total: 3 })
  })

  it('serves the parsed content of a store file', async () => {
    const vs = await client.vectorStores.create({ name: 'content' })
    const f = await upload('kilo.md', '# Kilo\n\nThe kilo procedure has three steps.')
    await client.vectorStores.files.createAndPoll(vs.id, { file_id: f.id }, poll)
    const parts = []
    for await (const part of client.vectorStores.files.content(f.id, { vector_store_id: vs.id })) parts.push(part)
    expect(parts.map((p) => p.text).join('')).toContain('The kilo procedure has three steps.')
    expect(parts[0]).toMatchObject({ type: 'text' })
  })
})

describe('deletion', () => {
  it('deleting a store file keeps the File; deleting the File takes it out of every store; deleting a store drops its index', async () => {
    const f = await upload('lima.md', document('lima'))
    const one = await client.vectorStores.create({ file_ids: [f.id] })
    const two = await client.vectorStores.create({ file_ids: [f.id] })
    await storeSettled(client, one.id)
    await storeSettled(client, two.id)

    const removed = await client.vectorStores.files.delete(f.id, { vector_store_id: one.id })
    expect(removed).toEqual({ id: f.id, object: 'vector_store.file.deleted', deleted: true })
    expect((await client.vectorStores.retrieve(one.id)).file_counts.total).toBe(0)
    expect((await client.files.retrieve(f.id)).id).toBe(f.id)
    await expect.poll(async () => (await client.vectorStores.search(one.id, { query: 'lima' })).data.length, { timeout: 30_000 }).toBe(0)

    await client.files.delete(f.id)
    expect((await client.vectorStores.files.list(two.id)).data).toEqual([])
    expect((await client.vectorStores.retrieve(two.id)).file_counts).toEqual({ in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 })
    await expect.poll(async () => (await client.vectorStores.search(two.id, { query: 'lima' })).data.length, { timeout: 30_000 }).toBe(0)

    const indexDir = join(stack.api.storageDir!, 'lance')
    await expect.poll(() => existsSync(join(indexDir, 'vector_stores', `${two.id}.lance`)), { timeout: 30_000 }).toBe(true)
    expect(await client.vectorStores.delete(two.id)).toEqual({ id: two.id, object: 'vector_store.deleted', deleted: true })
    await expect(client.vectorStores.retrieve(two.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect.poll(() => existsSync(join(indexDir, 'vector_stores', `${two.id}.lance`)), { timeout: 30_000 }).toBe(false)
  })
})

describe('tool_resources and attachments', () => {
  it('the vector_stores helper on assistant and thread create makes a store with its files and stores its id', async () => {
    const f = await upload('mike.md', document('mike'))
    const assistant = await client.beta.assistants.create({
      model: 'fake-model',
      tools: [{ type: 'file_search' }],
      tool_resources: {
        file_search: {
          vector_stores: [
            {
              file_ids: [f.id],
              chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 100 } },
              metadata: { from: 'helper' },
            },
          ],
        },
      },
    })
    const [storeId] = assistant.tool_resources!.file_search!.vector_store_ids!
    expect(storeId).toEqual(idOf('vs'))
    expect(assistant.tool_resources?.file_search).toEqual({ vector_store_ids: [storeId] })
    const store = await storeSettled(client, storeId!)
    expect(store).toMatchObject({ metadata: { from: 'helper' }, file_counts: { completed: 1, total: 1 } })
    expect((await client.vectorStores.files.retrieve(f.id, { vector_store_id: storeId! })).chunking_strategy).toEqual({
      type: 'static',
      static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 100 },
    })

    const thread = await client.beta.threads.create({ tool_resources: { file_search: { vector_stores: [{ file_ids: [f.id] }] } } })
    expect(thread.tool_resources?.file_search?.vector_store_ids).toEqual([idOf('vs')])
  })

  it('a file_search attachment puts the file in the thread store, made on first use with a 7-day expiry and linked', async () => {
    const [n, o] = await Promise.all([upload('november.md', document('november')), upload('oscar.md', document('oscar'))])
    const thread = await client.beta.threads.create()
    await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: 'read this',
      attachments: [{ file_id: n.id, tools: [{ type: 'file_search' }] }],
    })
    const linked = await client.beta.threads.retrieve(thread.id)
    const storeId = linked.tool_resources?.file_search?.vector_store_ids?.[0]
    expect(storeId).toEqual(idOf('vs'))
    const store = await client.vectorStores.retrieve(storeId!)
    expect(store.expires_after).toEqual({ anchor: 'last_active_at', days: 7 })
    expect(store.expires_at).toBe(store.last_active_at! + 7 * 86400)
    await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: 'and this',
      attachments: [{ file_id: o.id, tools: [{ type: 'file_search' }] }],
    })
    expect((await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids).toEqual([storeId])
    expect((await storeSettled(client, storeId!)).file_counts).toMatchObject({ completed: 2, total: 2 })

    // Also on thread create; a code_interpreter-only attachment adds nothing to a store.
    const t2 = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: n.id, tools: [{ type: 'file_search' }] }] }],
    })
    expect(t2.tool_resources?.file_search?.vector_store_ids).toEqual([idOf('vs')])
    const t3 = await client.beta.threads.create({
      messages: [{ role: 'user', content: 'hi', attachments: [{ file_id: n.id, tools: [{ type: 'code_interpreter' }] }] }],
    })
    expect(t3.tool_resources?.file_search).toBeUndefined()

    // And on a turn (Threadwork's own endpoint): the file joins the thread's store when the turn is accepted.
    const assistant = await client.beta.assistants.create({ model: 'fake-model', tools: [{ type: 'file_search' }] })
    const t4 = await client.beta.threads.create()
    const res = await fetch(`${stack.api.baseURL}/threads/${t4.id}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: 'read it', attachments: [{ file_id: o.id, tools: [{ type: 'file_search' }] }] }),
    })
    expect(res.status).toBe(202)
    const t4Store = (await client.beta.threads.retrieve(t4.id)).tool_resources?.file_search?.vector_store_ids?.[0]
    expect(t4Store).toEqual(idOf('vs'))
    expect((await client.vectorStores.files.list(t4Store!)).data.map((f) => f.id)).toEqual([o.id])
  })
})

describe('the embedding provider failing', () => {
  it('a search answers 503 (429 when rate-limited) with OpenAI’s body, not a 500; the next one works', async () => {
    const f = await upload('lantern.md', document('lantern'))
    const vs = await client.vectorStores.create({ name: 'outage', file_ids: [f.id] })
    await storeSettled(client, vs.id)
    // Every attempt the API's embedder makes (UPSTREAM_MAX_ATTEMPTS, 4) fails.
    const down = { status: 503, body: { error: { message: 'overloaded', type: 'server_error', param: null, code: null } } }
    stack.upstream.respondEmbeddingsOnce(down, down, down, down)
    const outage = await apiError(() => client.vectorStores.search(vs.id, { query: 'lantern procedure' }))
    expect(outage.status).toBe(503)
    expect(outage.error).toMatchObject({ type: 'server_error', code: 'upstream_unavailable', param: null })
    expect(outage.message).toContain('upstream model provider')

    const limited = {
      status: 429,
      headers: { 'retry-after': '0' },
      body: { error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
    }
    stack.upstream.respondEmbeddingsOnce(limited, limited, limited, limited)
    const throttled = await apiError(() => client.vectorStores.search(vs.id, { query: 'lantern procedure' }))
    expect(throttled.status).toBe(429)
    expect(throttled.error).toMatchObject({ type: 'server_error', code: 'rate_limit_exceeded' })

    const page = await client.vectorStores.search(vs.id, { query: 'lantern procedure' })
    expect(page.data[0]?.file_id).toBe(f.id)
  })
})

describe('expiry', () => {
  it('a store past expires_at reads expired and refuses search and new files', async () => {
    const vs = await client.vectorStores.create({ name: 'short', expires_after: { anchor: 'last_active_at', days: 1 } })
    const past = Math.floor(Date.now() / 1000) - 10
    await stack.api.redis.hset(stack.api.stores.keys.vectorStore('alpha', vs.id), 'last_active_at', past - 86400, 'expires_at', past)
    expect(await client.vectorStores.retrieve(vs.id)).toMatchObject({ status: 'expired', expires_at: past })
    const err = await apiError(() => client.vectorStores.search(vs.id, { query: 'anything' }))
    expect(err.status).toBe(400)
    const f = await upload('papa.md', 'papa')
    expect((await apiError(() => client.vectorStores.files.create(vs.id, { file_id: f.id }))).status).toBe(400)
    expect((await client.vectorStores.files.list(vs.id)).data).toEqual([])
  })
})

describe('bad input: a 4xx with OpenAI’s body and nothing stored', () => {
  const storeCount = async () => (await client.vectorStores.list({ limit: 100 })).data.length

  it('refuses bad chunking strategies, unknown files and wrong purposes without creating a store', async () => {
    const before = await storeCount()
    const f = await upload('quebec.md', 'quebec')
    const batchFile = await upload('rows.jsonl', '{"a":1}\n', 'batch')
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { file_ids: [f.id], chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 50, chunk_overlap_tokens: 0 } } },
        'chunking_strategy.static.max_chunk_size_tokens',
        'integer_below_min_value',
      ],
      [
        { file_ids: [f.id], chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 5000, chunk_overlap_tokens: 0 } } },
        'chunking_strategy.static.max_chunk_size_tokens',
        'integer_above_max_value',
      ],
      [
        { file_ids: [f.id], chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 400, chunk_overlap_tokens: 300 } } },
        'chunking_strategy.static.chunk_overlap_tokens',
        'invalid_value',
      ],
      [{ file_ids: [f.id], chunking_strategy: { type: 'semantic' } }, 'chunking_strategy.type', 'invalid_value'],
      [{ file_ids: ['file-doesnotexist0000000000'] }, 'file_ids[0]', 'file_not_found'],
      [{ file_ids: [f.id, batchFile.id] }, 'file_ids[1]', 'invalid_file_purpose'],
      [{ expires_after: { anchor: 'created_at', days: 1 } }, 'expires_after.anchor', 'invalid_value'],
      [{ expires_after: { anchor: 'last_active_at', days: 400 } }, 'expires_after.days', 'integer_above_max_value'],
    ]
    for (const [body, param, code] of cases) {
      const err = await apiError(() => client.vectorStores.create(body as OpenAI.VectorStores.VectorStoreCreateParams))
      expect(err.status, JSON.stringify(body)).toBe(400)
      expect(err.error, JSON.stringify(body)).toMatchObject({ type: 'invalid_request_error', param, code })
    }
    expect(await storeCount()).toBe(before)
  })

  it('unknown and other project’s stores are 404; search bounds are 400', async () => {
    const vs = await client.vectorStores.create({ name: 'mine' })
    for (const call of [
      () => other.vectorStores.retrieve(vs.id),
      () => other.vectorStores.update(vs.id, { name: 'theirs' }),
      () => other.vectorStores.delete(vs.id),
      () => other.vectorStores.search(vs.id, { query: 'x' }),
      () => other.vectorStores.files.list(vs.id),
      () => client.vectorStores.retrieve('vs_doesnotexist'),
      () => client.vectorStores.files.retrieve('file-x', { vector_store_id: vs.id }),
      () => client.vectorStores.fileBatches.retrieve('vsfb_nope', { vector_store_id: vs.id }),
    ]) {
      const err = await apiError(call)
      expect(err.status).toBe(404)
      expect(err.error).toMatchObject({ type: 'invalid_request_error' })
    }
    expect((await apiError(() => other.vectorStores.retrieve(vs.id))).message).toContain(`No vector store found with id '${vs.id}'.`)
    expect((await client.vectorStores.retrieve(vs.id)).name).toBe('mine')

    for (const [max, code] of [
      [0, 'integer_below_min_value'],
      [51, 'integer_above_max_value'],
    ] as const) {
      const err = await apiError(() => client.vectorStores.search(vs.id, { query: 'x', max_num_results: max }))
      expect(err.error).toMatchObject({ param: 'max_num_results', code })
    }
    const badFilter = await apiError(() => client.vectorStores.search(vs.id, { query: 'x', filters: { type: 'in', key: 'k', value: 'not-an-array' } as never }))
    expect(badFilter.status).toBe(400)
    const badRanker = await apiError(() => client.vectorStores.search(vs.id, { query: 'x', ranking_options: { ranker: 'best' as never } }))
    expect(badRanker.error).toMatchObject({ param: 'ranking_options.ranker', code: 'invalid_value' })
    // Another project's file cannot be attached.
    const theirs = await other.files.create({ file: await toFile(Buffer.from('secret'), 'secret.md'), purpose: 'assistants' })
    const err = await apiError(() => client.vectorStores.files.create(vs.id, { file_id: theirs.id }))
    expect(err.status).toBe(400)
    expect((await client.vectorStores.files.list(vs.id)).data).toEqual([])
  })

  it('one vector store per assistant and per thread; unknown stores in tool_resources are refused', async () => {
    const a = await client.vectorStores.create({})
    const b = await client.vectorStores.create({})
    const assistantsBefore = (await client.beta.assistants.list({ limit: 100 })).data.length
    const two = await apiError(() =>
      client.beta.assistants.create({ model: 'fake-model', tool_resources: { file_search: { vector_store_ids: [a.id, b.id] } } }),
    )
    expect(two.error).toMatchObject({ param: 'tool_resources.file_search.vector_store_ids', code: 'array_above_max_length' })
    const both = await apiError(() =>
      client.beta.assistants.create({ model: 'fake-model', tool_resources: { file_search: { vector_store_ids: [a.id], vector_stores: [{}] } } as never }),
    )
    expect(both.status).toBe(400)
    const unknown = await apiError(() =>
      client.beta.assistants.create({ model: 'fake-model', tool_resources: { file_search: { vector_store_ids: ['vs_unknown'] } } }),
    )
    expect(unknown.error).toMatchObject({ param: 'tool_resources.file_search.vector_store_ids[0]', code: 'vector_store_not_found' })
    const theirs = await other.vectorStores.create({})
    expect((await apiError(() => client.beta.threads.create({ tool_resources: { file_search: { vector_store_ids: [theirs.id] } } }))).status).toBe(400)
    expect((await client.beta.assistants.list({ limit: 100 })).data.length).toBe(assistantsBefore)
    const modify = await apiError(async () => {
      const asst = await client.beta.assistants.create({ model: 'fake-model' })
      return client.beta.assistants.update(asst.id, { tool_resources: { file_search: { vector_stores: [{}] } } as never })
    })
    expect(modify.error).toMatchObject({ code: 'unknown_parameter' })
  })

  it('unknown or other project’s Files in code_interpreter.file_ids are refused on create, modify and createAndRun, storing nothing', async () => {
    const mine = await client.files.create({ file: await toFile(Buffer.from('x,y\n1,2\n'), 'data.csv'), purpose: 'assistants' })
    const theirs = await other.files.create({ file: await toFile(Buffer.from('secret\n'), 'theirs.txt'), purpose: 'assistants' })
    const plain = await client.beta.assistants.create({ model: 'fake-model', tools: [{ type: 'code_interpreter' }] })
    const assistantsBefore = (await client.beta.assistants.list({ limit: 100 })).data.length
    for (const bad of ['file-doesnotexist', theirs.id]) {
      const tool_resources = { code_interpreter: { file_ids: [mine.id, bad] } }
      for (const call of [
        () => client.beta.assistants.create({ model: 'fake-model', tools: [{ type: 'code_interpreter' }], tool_resources }),
        () => client.beta.threads.create({ tool_resources }),
        () => client.beta.threads.createAndRun({ assistant_id: plain.id, thread: { tool_resources } }),
        () => client.beta.threads.createAndRun({ assistant_id: plain.id, tool_resources }),
      ]) {
        const err = await apiError(call)
        expect(err.status, bad).toBe(400)
        expect(err.error, bad).toMatchObject({
          type: 'invalid_request_error',
          param: expect.stringMatching(/tool_resources\.code_interpreter\.file_ids\[1\]$/),
          code: 'file_not_found',
        })
        expect(err.message).toContain(`No such File object: ${bad}`)
      }
    }
    expect((await client.beta.assistants.list({ limit: 100 })).data.length).toBe(assistantsBefore)
    const asst = await client.beta.assistants.create({
      model: 'fake-model',
      tools: [{ type: 'code_interpreter' }],
      tool_resources: { code_interpreter: { file_ids: [mine.id] } },
    })
    const modify = await apiError(() => client.beta.assistants.update(asst.id, { tool_resources: { code_interpreter: { file_ids: ['file-gone'] } } }))
    expect(modify.error).toMatchObject({ param: 'tool_resources.code_interpreter.file_ids[0]', code: 'file_not_found' })
    expect((await client.beta.assistants.retrieve(asst.id)).tool_resources?.code_interpreter?.file_ids).toEqual([mine.id])
  })
})
