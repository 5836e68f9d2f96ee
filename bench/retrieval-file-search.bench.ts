/**
 * A file_search run end to end beside a plain run of the same assistant setup: the real API in this
 * process, one real worker process (services/worker/dist) with an embedding model, the fake
 * upstream in a child process (chat and embeddings answered at once), the official SDK as client.
 *
 * A store of 20 short manuals is ingested through the API (`fileBatches.uploadAndPoll`); then,
 * interleaved, each on a fresh thread, create run → `completed` seen by the client (retrieving in
 * a loop, as runs.bench does) for (a) an assistant without tools whose model answers at once and (b) an assistant with
 * file_search on the store whose model searches once (one query), then answers citing the first
 * source it was handed. (b) − (a) is what a search costs a run: one more model round, the query's
 * embedding, the hybrid search, the tool step's objects. Figures are printed, never asserted.
 */
import { cpus, loadavg } from 'node:os'
import { type ServiceProcess, startApiServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import OpenAI, { toFile } from 'openai'
import { forkFakeUpstream } from './fake-upstream-process.js'
import { type Sample, measureInterleaved, printTable } from './lib.js'

const RUNS = 100
const WARMUP = 10
const EMBEDDING_MODEL = 'text-embedding-3-large'
const TOPICS = [
  'hydraulic pump',
  'conveyor belt',
  'air compressor',
  'welding robot',
  'cooling tower',
  'forklift battery',
  'packaging line',
  'boiler feed valve',
  'lathe spindle',
  'paint booth',
  'dust extractor',
  'gearbox',
  'crane hoist',
  'water softener',
  'laser cutter',
  'vacuum former',
  'sorting scanner',
  'pallet wrapper',
  'glue dispenser',
  'label printer',
]
/** What the model searches for, and the file that holds the answer. */
const QUERY = 'hydraulic pump nominal pressure bar'
const ANSWER_FILE = 'hydraulic-pump.md'

/** A ~2 KB manual about `topic`; the pump's states its pressure. */
const manual = (topic: string, i: number) =>
  [
    `# ${topic} manual`,
    ...Array.from({ length: 12 }, (_, s) => `Section ${s + 1}: inspect the ${topic} every ${(i + 2) * (s + 1)} operating hours and log the reading in the ${topic} maintenance book.`),
    topic === 'hydraulic pump' ? 'The hydraulic pump operates at 40 bar nominal pressure; bleed the lines before the first start.' : `The ${topic} needs no pressure setting.`,
  ].join('\n')

export async function run(): Promise<void> {
  const upstream = await forkFakeUpstream()
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, embeddingModel: EMBEDDING_MODEL, prefix: uniquePrefix('benchfilesearch') })
  const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
  let worker: ServiceProcess | undefined
  try {
    worker = await startServiceProcess('worker', {
      REDIS_PREFIX: api.prefix,
      UPSTREAM_BASE_URL: upstream.baseURL,
      UPSTREAM_API_KEY: 'x',
      EMBEDDING_MODEL,
      ...(api.storageDir ? { STORAGE_DIR: api.storageDir } : {}),
    })
    await upstream.respondScript({
      steps: [{ call: { name: 'file_search', arguments: JSON.stringify({ queries: [QUERY] }) } }, { answer: 'It runs at 40 bar.', citeFirstSource: true }],
      otherwise: { kind: 'text', text: 'It runs at 40 bar.' },
    })

    const store = await client.vectorStores.create({ name: 'plant manuals' })
    const files = await Promise.all(TOPICS.map((topic, i) => toFile(Buffer.from(manual(topic, i)), `${topic.replace(/ /g, '-')}.md`)))
    const ingestStart = performance.now()
    const batch = await client.vectorStores.fileBatches.uploadAndPoll(store.id, { files }, { pollIntervalMs: 50 })
    const ingestS = (performance.now() - ingestStart) / 1000
    if (batch.file_counts.completed !== TOPICS.length) throw new Error(`ingestion ended ${JSON.stringify(batch.file_counts)}`)

    const plain = await client.beta.assistants.create({ model: 'fake-model' })
    const searching = await client.beta.assistants.create({
      model: 'fake-model',
      tools: [{ type: 'file_search' }],
      tool_resources: { file_search: { vector_store_ids: [store.id] } },
    })
    // A fresh thread per run (made beforehand, untimed): on one thread every file_search run would
    // carry all earlier runs' search results in its history, and the comparison would drift.
    const threads = async () => {
      const list: string[] = []
      for (let i = 0; i < RUNS + WARMUP; i++) list.push((await client.beta.threads.create({ messages: [{ role: 'user', content: 'What pressure does the pump run at?' }] })).id)
      return list
    }
    const plainThreads = await threads()
    const searchThreads = await threads()
    let p = 0
    let q = 0
    const [plainRun, searchRun, endpoint] = (await measureInterleaved(
      [
        ['baseline: plain run (no tools), create → completed', () => runToCompletion(client, plainThreads[p++]!, plain.id)],
        ['file_search run (search round + answer), create → completed', () => runToCompletion(client, searchThreads[q++]!, searching.id)],
        ['the same search through POST /vector_stores/{id}/search', () => client.vectorStores.search(store.id, { query: QUERY, max_num_results: 20 })],
      ],
      RUNS,
      WARMUP,
    )) as [Sample, Sample, Sample]
    const searchThread = { id: searchThreads[q - 1]! }

    // The last answer cites the file the query's words are in.
    const [reply] = (await client.beta.threads.messages.list(searchThread.id, { limit: 1 })).data
    const part = reply?.content[0]
    const citation = part?.type === 'text' ? part.text.annotations.find((a) => a.type === 'file_citation') : undefined
    const cited = citation?.type === 'file_citation' ? (await client.files.retrieve(citation.file_citation.file_id)).filename : '(none)'

    printTable(`retrieval: a file_search run end to end (API in-process, 1 worker process, store of ${TOPICS.length} files)`, [plainRun, searchRun, endpoint], [
      '',
      `store ingested through the API in ${ingestS.toFixed(2)} s (uploadAndPoll of ${TOPICS.length} files, ~2 KB each)`,
      `file_search run − plain run: p50 +${(searchRun.p50 - plainRun.p50).toFixed(1)} ms, p99 +${(searchRun.p99 - plainRun.p99).toFixed(1)} ms (one more model round, query embedding, hybrid search, the tool step)`,
      `the answer cites: ${cited} (expected ${ANSWER_FILE}); machine load ${loadavg()[0]!.toFixed(1)} (1-min average, ${cpus().length} cores)`,
    ])
  } finally {
    if (worker) {
      worker.kill('SIGTERM')
      await worker.exited
    }
    await api.close()
    await upstream.close()
  }
}

async function runToCompletion(client: OpenAI, threadId: string, assistantId: string): Promise<void> {
  let run = await client.beta.threads.runs.create(threadId, { assistant_id: assistantId })
  while (run.status !== 'completed') {
    run = await client.beta.threads.runs.retrieve(run.id, { thread_id: threadId })
    if (run.status !== 'completed' && run.status !== 'queued' && run.status !== 'in_progress') throw new Error(`run ${run.id} ended ${run.status}`)
  }
}
