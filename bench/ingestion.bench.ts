/**
 * Vector store ingestion by one real worker process, the goal's unit (≥ 5 MB/s of text per worker
 * process, issue 10): 32 synthetic text files of 256 KB uploaded through the API, then one
 * `vectorStores.create` with all of them; timed from the create to the drain's end (every file
 * `completed`, then the drain's idle index maintenance, when it clears the store's pending mark).
 * MB/s of text by wall clock and per CPU-second of the worker process (/proc: LanceDB's threads
 * included; the API and the fake upstream are other processes), with INGEST_BATCH_FILES=1 (a file
 * at a time) and 16 (the default) in turn, each on a fresh API, worker and store.
 *
 * The goal is a worker's steady rate, so each worker first ingests a warm-up store of
 * WARMUP_FILES other files (timed the same way and printed as its own column: a fresh process's
 * JIT, token-count cache and LanceDB runtime start, which a long-running worker pays once).
 *
 * The embeddings upstream is the fake's `instant` mode, the goal's condition ("with an instant
 * embedding upstream"): one fixed vector per input, so the fake's own work (hashing every word of
 * 8.4 MB, ~0.6 s of CPU on the same two cores) does not stand in the worker's way;
 * `INGESTION_BENCH_EMBEDDINGS=lexical` uses the hashed vectors the retrieval bench searches.
 *
 * `INGESTION_BENCH_BATCHES=16` runs one setting; `INGESTION_BENCH_FILES=64` changes the corpus;
 * `INGESTION_BENCH_WARMUP_FILES=0` measures a cold process.
 * Figures are printed, never asserted. The API's storage dir and Redis keys (fresh prefix) are removed.
 */
import { readFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { type ServiceProcess, startApiServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import type { FakeEmbeddingsMode } from '../packages/test-utils/src/fake-embeddings.js'
import { forkFakeUpstream } from './fake-upstream-process.js'
import { syntheticText } from './synthetic-text.js'

const EMBEDDING_MODEL = 'text-embedding-3-large'
const FILES = Number(process.env.INGESTION_BENCH_FILES ?? 32)
const FILE_KB = 256
const BATCHES = (process.env.INGESTION_BENCH_BATCHES ?? '1,16').split(',').map(Number)
const WARMUP_FILES = Number(process.env.INGESTION_BENCH_WARMUP_FILES ?? 4)
const EMBEDDINGS: FakeEmbeddingsMode = process.env.INGESTION_BENCH_EMBEDDINGS === 'lexical' ? 'lexical' : 'instant'

/** CPU seconds a process has used (Linux /proc; utime + stime in USER_HZ = 100 ticks). */
async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export async function run(): Promise<void> {
  const { textOf } = syntheticText(7)
  const texts = Array.from({ length: FILES }, () => textOf(FILE_KB * 1024))
  const warmupTexts = Array.from({ length: WARMUP_FILES }, () => textOf(FILE_KB * 1024))
  const mb = texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6
  const upstream = await forkFakeUpstream({ embeddings: EMBEDDINGS })
  const rows: string[] = []
  try {
    for (const batchFiles of BATCHES) rows.push(await ingestOnce(upstream.baseURL, texts, warmupTexts, mb, batchFiles))
  } finally {
    await upstream.close()
  }
  console.log(
    `\n## ingestion: one worker process, ${FILES} files × ${FILE_KB} KB = ${mb.toFixed(1)} MB of text into one vector store, ${EMBEDDINGS} embeddings upstream\n`,
  )
  console.log(
    `| INGEST_BATCH_FILES | wall, create → drain done | worker CPU | at \`completed\` (before the idle maintenance) | the worker's first store (${WARMUP_FILES} × ${FILE_KB} KB, a fresh process) | load |`,
  )
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const row of rows) console.log(row)
  console.log(`\n(goal ≥ 5 MB/s per worker process; ${cpus().length} cores; load is the 1-minute average at the end of each run)`)
}

async function ingestOnce(upstreamBaseURL: string, texts: readonly string[], warmupTexts: readonly string[], mb: number, batchFiles: number): Promise<string> {
  const api = await startApiServer({ upstreamBaseURL, embeddingModel: EMBEDDING_MODEL, prefix: uniquePrefix('benchingest') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  let worker: ServiceProcess | undefined
  try {
    worker = await startServiceProcess('worker', {
      REDIS_PREFIX: api.prefix,
      UPSTREAM_BASE_URL: upstreamBaseURL,
      UPSTREAM_API_KEY: 'x',
      EMBEDDING_MODEL,
      INGEST_BATCH_FILES: String(batchFiles),
      ...(api.storageDir ? { STORAGE_DIR: api.storageDir } : {}),
    })
    const warmup = warmupTexts.length > 0 ? await ingestStore(api, client, worker.pid, warmupTexts, 'warmup') : undefined
    const { wall, cpu, completedWall, completedCpu } = await ingestStore(api, client, worker.pid, texts, 'doc')
    const warmMb = warmupTexts.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6
    const first = warmup ? `${(warmMb / warmup.wall).toFixed(2)} MB/s, ${(warmMb / warmup.cpu).toFixed(2)} MB per CPU-second` : '(none)'
    return `| ${batchFiles} | ${wall.toFixed(1)} s: ${(mb / wall).toFixed(2)} MB/s | ${cpu.toFixed(2)} s: ${(mb / cpu).toFixed(2)} MB per CPU-second | ${completedWall.toFixed(1)} s wall, ${completedCpu.toFixed(2)} s CPU | ${first} | ${loadavg()[0]!.toFixed(1)} |`
  } finally {
    if (worker) {
      worker.kill('SIGTERM')
      await worker.exited
    }
    await api.close()
  }
}

interface IngestTiming {
  /** Seconds from the create to the drain's end (pending mark cleared). */
  wall: number
  /** The worker's CPU seconds over the same span. */
  cpu: number
  /** Seconds and CPU seconds until every file was `completed` (before the idle maintenance). */
  completedWall: number
  completedCpu: number
}

/** Uploads `texts`, creates one store with them and waits for its drain to end; timed on the worker process `pid`. */
async function ingestStore(
  api: Awaited<ReturnType<typeof startApiServer>>,
  client: OpenAI,
  pid: number,
  texts: readonly string[],
  name: string,
): Promise<IngestTiming> {
  const files = []
  for (const [i, text] of texts.entries())
    files.push(await client.files.create({ file: await toFile(Buffer.from(text), `${name}-${i}.txt`), purpose: 'assistants' }))
  const cpuStart = await cpuSecondsOf(pid)
  const wallStart = performance.now()
  const store = await client.vectorStores.create({ file_ids: files.map((f) => f.id) })
  let settled = store
  while (settled.file_counts.in_progress > 0 || settled.status === 'in_progress') {
    await new Promise((r) => setTimeout(r, 50))
    settled = await client.vectorStores.retrieve(store.id)
  }
  const completedWall = (performance.now() - wallStart) / 1000
  const completedCpu = (await cpuSecondsOf(pid)) - cpuStart
  if (settled.file_counts.completed !== texts.length) throw new Error(`ingestion ended ${JSON.stringify(settled.file_counts)}`)
  // The drain clears the store's pending mark last, after its idle maintenance (the API key is in
  // project `test`). Polled every 10 ms (one ZSCORE): the clock's grain, not the worker's pace.
  while ((await api.redis.zscore(api.stores.keys.vectorStoresPending, `test/${store.id}`)) !== null) await new Promise((r) => setTimeout(r, 10))
  const wall = (performance.now() - wallStart) / 1000
  const cpu = (await cpuSecondsOf(pid)) - cpuStart
  return { wall, cpu, completedWall, completedCpu }
}
