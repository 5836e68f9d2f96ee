/**
 * The search engine (packages/retrieval) on its own, no Redis or HTTP API:
 *
 * 1. Ingestion: synthetic text files through the worker's pipeline — extractText → chunkText
 *    (auto: 800/400) → embed (`/v1/embeddings` of the fake upstream in a child process, which
 *    answers at once; 256 dimensions) → replaceFilesChunks with index maintenance — batches of
 *    16 files into one store, as one store's single writer (the worker's drain) does. MB/s of
 *    text and chunks/s, by wall clock and per CPU-second of this process (LanceDB's threads
 *    included), per stage. Goal: ≥ 5 MB/s of text per process.
 * 2. Search at 1,000 and 100,000 chunks: hybrid (BM25 + vector, fused, reranked), keyword-only,
 *    and beside them a brute-force scan of the same vectors (a JavaScript dot product over one
 *    Float32Array, top 20) in the same run. Chunks are ~120 words (shorter than auto's 800 tokens,
 *    so the 100k store builds in minutes), bulk-loaded in appends of 10,000, then one optimize
 *    compacts them and builds the indexes (BM25, and IVF-PQ past 20,000 rows). Goal: p99 ≤ 30 ms
 *    at 100,000.
 *
 * `RETRIEVAL_BENCH_CHUNKS=1000,20000` changes the store sizes (`0`: ingestion only);
 * `RETRIEVAL_BENCH_MB=4` the corpus; `RETRIEVAL_BENCH_BATCH_FILES=1` ingests a file at a time.
 * Figures are printed, never asserted. Everything is written under a temp dir, removed at the end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { warmUpTokenizer } from '@threadwork/model-client'
import { type VectorIndex, chunkText, createEmbedder, extractText, openVectorIndex } from '@threadwork/retrieval'
// By path, not through the test-utils barrel (which loads the API and storage).
import { fakeEmbedding } from '../packages/test-utils/src/fake-embeddings.js'
import OpenAI from 'openai'
import { type ForkedUpstream, forkFakeUpstream } from './fake-upstream-process.js'
import { type Sample, measureInterleaved, printTable } from './lib.js'
import { syntheticText } from './synthetic-text.js'

const DIMS = 256
// `RETRIEVAL_BENCH_CHUNKS=0` skips the search part (ingestion only).
const SIZES = (process.env.RETRIEVAL_BENCH_CHUNKS ?? '1000,100000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
const CORPUS_MB = Number(process.env.RETRIEVAL_BENCH_MB ?? 8)
const FILE_KB = 256
/** Files per index commit, as the worker's INGEST_BATCH_FILES (default 16); 1 = a file at a time. */
const BATCH_FILES = Number(process.env.RETRIEVAL_BENCH_BATCH_FILES ?? 16)
const QUERIES = 200

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-retrieval-'))
  const upstream = await forkFakeUpstream()
  try {
    warmUpTokenizer()
    await ingestion(upstream, dir)
    for (const size of SIZES) await searchAt(size, dir)
  } finally {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  }
}

// Synthetic text (bench/synthetic-text.ts), one generator for the whole bench.
const { random, sentence, textOf } = syntheticText(42)

// ---------------------------------------------------------------------------------------------

/** CPU seconds a process has used so far (Linux /proc; null elsewhere): the fake upstream's share of the machine. */
async function cpuSecondsOf(pid: number): Promise<number | null> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return null
  }
}

async function ingestion(upstream: ForkedUpstream, dir: string): Promise<void> {
  const baseURL = upstream.baseURL
  const files = Array.from({ length: Math.max(1, Math.round((CORPUS_MB * 1024) / FILE_KB)) }, (_, i) => ({
    filename: `doc-${i}.txt`,
    bytes: Buffer.from(textOf(FILE_KB * 1024), 'utf8'),
  }))
  const totalBytes = files.reduce((n, f) => n + f.bytes.length, 0)
  const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 })
  const embedder = createEmbedder({ client, model: 'fake-embed', dimensions: DIMS })
  const index = await openVectorIndex({ uri: join(dir, 'ingest') }, 'vs_ingest')

  const stages = { parse: 0, chunk: 0, embed: 0, write: 0, index: 0 }
  const stageCpu = { parse: 0, chunk: 0, embed: 0, write: 0, index: 0 }
  const cpuNow = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const upstreamCpuStart = await cpuSecondsOf(upstream.pid)
  const cpuStart = process.cpuUsage()
  const wallStart = performance.now()
  let chunks = 0
  let t = performance.now()
  let c = cpuNow()
  const lap = (stage: keyof typeof stages) => {
    stages[stage] += performance.now() - t
    stageCpu[stage] += cpuNow() - c
    t = performance.now()
    c = cpuNow()
  }
  // As a store's drain does it (services/worker ingest-batch.ts): BATCH_FILES files at a time, each
  // parsed and chunked while the earlier files' embeddings are in flight (one file's request at a
  // time), then one index commit for the batch.
  for (let first = 0; first < files.length; first += BATCH_FILES) {
    const batch = files.slice(first, first + BATCH_FILES)
    let inFlight: Promise<unknown> = Promise.resolve()
    const prepared = []
    for (const [j, file] of batch.entries()) {
      const { text } = await extractText({ bytes: file.bytes, filename: file.filename })
      lap('parse')
      const texts = chunkText(text).map((p) => p.text)
      lap('chunk')
      const vectors = inFlight.then(async () => (await embedder.embed(texts)).vectors)
      vectors.catch(() => {})
      inFlight = vectors
      prepared.push({ fileId: `file-${first + j}`, filename: file.filename, texts, vectors })
      chunks += texts.length
    }
    const toWrite = []
    for (const p of prepared) {
      const vectors = await p.vectors
      toWrite.push({ fileId: p.fileId, filename: p.filename, chunks: p.texts.map((text, k) => ({ text, vector: vectors[k]! })) })
    }
    lap('embed')
    await index.replaceFilesChunks(toWrite)
    lap('write')
  }
  // The drain's maintenance once its queue is empty (ingest-vector-store.ts): the rows not yet
  // folded into the indexes (up to max(4,096, 1/16 of the store) after the last write) are, once
  // they are 1/32 of the store — here always, so every run ends fully indexed and runs compare.
  await index.maintain({ idle: true })
  lap('index')
  const wallS = (performance.now() - wallStart) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const cpuS = (cpu.user + cpu.system) / 1e6
  const mb = totalBytes / 1e6
  const upstreamCpuEnd = await cpuSecondsOf(upstream.pid)
  const upstreamCpu = upstreamCpuStart !== null && upstreamCpuEnd !== null ? upstreamCpuEnd - upstreamCpuStart : null

  console.log(
    `\n## retrieval: ingestion (one store, ${BATCH_FILES === 1 ? 'one file at a time' : `${BATCH_FILES} files per index commit`}; fake upstream in a child process)\n`,
  )
  console.log(
    `files ${files.length} × ${FILE_KB} KB = ${mb.toFixed(1)} MB of text → ${chunks.toLocaleString('en')} chunks (auto: 800 tokens, 400 overlap), ${DIMS}-dim vectors`,
  )
  console.log(`machine load ${loadavg()[0]!.toFixed(1)} (1-min average, ${cpus().length} cores)`)
  console.log(`wall  ${wallS.toFixed(2)} s: ${(mb / wallS).toFixed(2)} MB/s, ${Math.round(chunks / wallS).toLocaleString('en')} chunks/s  (goal ≥ 5 MB/s)`)
  console.log(
    `CPU   ${cpuS.toFixed(2)} s of this process: ${(mb / cpuS).toFixed(2)} MB per CPU-second, ${Math.round(chunks / cpuS).toLocaleString('en')} chunks per CPU-second`,
  )
  const stage = (name: keyof typeof stages) => `${name} ${(stages[name] / 1000).toFixed(2)} s wall / ${(stageCpu[name] / 1000).toFixed(2)} s CPU`
  console.log(
    `stages: ${stage('parse')}, ${stage('chunk')}, ${stage('embed')} (waiting after the batch's last chunk; the upstream's own CPU not counted), ${stage('write')} (incl. index maintenance), ${stage('index')} (the drain's maintenance once its queue is empty)`,
  )
  if (upstreamCpu !== null)
    console.log(
      `the fake upstream's process used ${upstreamCpu.toFixed(2)} s of CPU meanwhile (hashing ${chunks.toLocaleString('en')} chunks into vectors, on the same cores)`,
    )
}

// ---------------------------------------------------------------------------------------------

async function searchAt(size: number, dir: string): Promise<void> {
  // Built as a bulk load: a few large appends (10,000 chunks each, one fragment apiece), then one
  // optimize that compacts them into one fragment and builds the BM25 index, the file_id B-tree and
  // (from 20,000 rows) the IVF-PQ index over all of it — what a store's index looks like once its
  // writer has caught up (maintenance compacts every few appends).
  const index = await openVectorIndex({ uri: join(dir, `search-${size}`) }, `vs_${size}`, { autoMaintain: false })
  const matrix = new Float32Array(size * DIMS)
  const texts: string[] = []
  const perFile = 10_000
  const buildStart = performance.now()
  for (let f = 0; f * perFile < size; f++) {
    const n = Math.min(perFile, size - f * perFile)
    const batch = Array.from({ length: n }, (_, j) => {
      const text = Array.from({ length: 8 }, sentence).join(' ').split(' ').slice(0, 120).join(' ')
      const vector = fakeEmbedding(text, DIMS)
      matrix.set(vector, (f * perFile + j) * DIMS)
      texts.push(text)
      return { text, vector }
    })
    await index.replaceFileChunks(`file-${f}`, batch, { filename: `doc-${f}.txt`, attributes: { part: f } })
  }
  const writeS = (performance.now() - buildStart) / 1000
  const optimizeStart = performance.now()
  await index.optimize()
  const optimizeS = (performance.now() - optimizeStart) / 1000

  // Each query: 2–5 words of a random chunk, so there is a chunk it should find.
  const queries = Array.from({ length: QUERIES }, () => {
    const words = texts[Math.floor(random() * texts.length)]!.split(' ')
    const start = Math.floor(random() * Math.max(1, words.length - 5))
    const q = words.slice(start, start + 2 + Math.floor(random() * 4)).join(' ')
    return { q, v: fakeEmbedding(q, DIMS) }
  })
  let i = 0
  let j = 0
  let k = 0
  // CPU per call of this process (LanceDB's threads included): unlike wall time, hardly moved by
  // the load of other processes on a shared machine.
  const cpu = { ms: [0, 0, 0], calls: [0, 0, 0] }
  const withCpu =
    (c: number, fn: () => Promise<unknown>): (() => Promise<unknown>) =>
    async () => {
      const start = process.cpuUsage()
      const result = await fn()
      const used = process.cpuUsage(start)
      cpu.ms[c]! += (used.user + used.system) / 1000
      cpu.calls[c]!++
      return result
    }
  const samples = await measureInterleaved(
    [
      [`hybrid search (BM25 + vector, RRF, rerank), top 20`, withCpu(0, () => hybrid(index, queries[i++ % QUERIES]!))],
      [`keyword-only search (BM25, rerank), top 20`, withCpu(1, () => index.search({ queries: [queries[j++ % QUERIES]!.q], maxNumResults: 20 }))],
      [
        `baseline: brute-force scan of the ${size.toLocaleString('en')} vectors (JS), top 20`,
        withCpu(2, async () => bruteForce(matrix, size, queries[k++ % QUERIES]!.v, 20)),
      ],
    ],
    QUERIES,
    20,
  )
  const cpuPerCall = (c: number) => `${(cpu.ms[c]! / cpu.calls[c]!).toFixed(1)} ms`

  // Does hybrid search find the chunk each query was cut from (in its top 20)?
  let found = 0
  for (const query of queries.slice(0, 50)) {
    const hits = await hybrid(index, query)
    if (hits.some((h) => h.content[0]!.text.includes(query.q))) found++
  }
  printTable(`retrieval: search over ${size.toLocaleString('en')} chunks (${DIMS} dims, ~120 words each)`, samples as Sample[], [
    '',
    `built in ${writeS.toFixed(1)} s (text, vectors and ${Math.ceil(size / perFile)} appends of ≤ ${perFile.toLocaleString('en')} chunks) + ${optimizeS.toFixed(1)} s of compaction and index builds (BM25, file_id B-tree${size >= 20_000 ? ', IVF-PQ' : '; vectors scanned exactly below 20,000'}); machine load ${loadavg()[0]!.toFixed(1)} (1-min average, ${cpus().length} cores)`,
    `hybrid p99 vs brute-force scan p99: ×${((samples[0] as Sample).p99 / (samples[2] as Sample).p99).toFixed(2)}; hybrid p99 ${(samples[0] as Sample).p99.toFixed(1)} ms (goal ≤ 30 ms at 100,000)`,
    `CPU per call (this process, LanceDB's threads included): hybrid ${cpuPerCall(0)}, keyword-only ${cpuPerCall(1)}, brute force ${cpuPerCall(2)}`,
    `the query's source chunk in hybrid's top 20: ${found}/50`,
  ])
}

function hybrid(index: VectorIndex, query: { q: string; v: Float32Array }) {
  return index.search({ queries: [query.q], queryVectors: [query.v], maxNumResults: 20 })
}

/** Exact top-k by dot product (vectors are unit length): the scan an index has to beat. */
function bruteForce(matrix: Float32Array, rows: number, query: Float32Array, k: number): number[] {
  const best: { row: number; score: number }[] = []
  for (let r = 0; r < rows; r++) {
    let score = 0
    const base = r * DIMS
    for (let d = 0; d < DIMS; d++) score += matrix[base + d]! * query[d]!
    if (best.length < k || score > best[best.length - 1]!.score) {
      best.push({ row: r, score })
      best.sort((a, b) => b.score - a.score)
      if (best.length > k) best.pop()
    }
  }
  return best.map((b) => b.row)
}
