import {
  type ApiServer,
  type ApiServerOptions,
  type FakeUpstream,
  type ServiceProcess,
  startApiServer,
  startFakeUpstream,
  startServiceProcess,
} from '@threadwork/test-utils'
import OpenAI from 'openai'
import { expect } from 'vitest'

/**
 * The runs stack of one test file: a fake upstream, the real API in-process, and real worker
 * processes (the built `services/worker/dist`) on the API's key prefix.
 */
export interface RunStack {
  upstream: FakeUpstream
  api: ApiServer
  client: OpenAI
  /** Worker env every `startWorker` gets, before its own overrides. */
  workerEnv: Record<string, string>
  /** Starts one more worker process; every worker started here is killed by `close`. */
  startWorker(env?: Record<string, string>): Promise<ServiceProcess>
  /** SIGKILLs every worker started so far and waits for them to exit. */
  killWorkers(): Promise<void>
  /** A fresh assistant on `fake-model` (or the given settings). */
  assistant(params?: Partial<OpenAI.Beta.AssistantCreateParams>): Promise<OpenAI.Beta.Assistant>
  close(): Promise<void>
}

export async function startRunStack(
  opts: { api?: ApiServerOptions; worker?: Record<string, string>; workers?: number; upstream?: FakeUpstream } = {},
): Promise<RunStack> {
  const upstream = opts.upstream ?? (await startFakeUpstream())
  const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, ...opts.api })
  const workerEnv = {
    REDIS_PREFIX: api.prefix,
    UPSTREAM_BASE_URL: upstream.baseURL,
    UPSTREAM_API_KEY: 'x',
    // Workers read and write Files where the API keeps them.
    ...(api.storageDir ? { STORAGE_DIR: api.storageDir } : {}),
    // A crashed worker's runs come back within ~1.5× this; keep takeovers quick in tests.
    WORKER_LOCK_MS: '2000',
    ...opts.worker,
  }
  const workers: ServiceProcess[] = []
  const stack: RunStack = {
    upstream,
    api,
    client: new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 }),
    workerEnv,
    async startWorker(env = {}) {
      const w = await startServiceProcess('worker', { ...workerEnv, ...env })
      workers.push(w)
      return w
    },
    async killWorkers() {
      const all = workers.splice(0)
      for (const w of all) w.kill('SIGKILL')
      await Promise.all(all.map((w) => w.exited))
    },
    assistant: (params = {}) => stack.client.beta.assistants.create({ model: 'fake-model', ...params }),
    async close() {
      await stack.killWorkers()
      await api.close()
      await upstream.close()
    },
  }
  for (let i = 0; i < (opts.workers ?? 1); i++) await stack.startWorker()
  return stack
}

/** Polls the run (as a client would) until `accept` says yes; returns that run. */
export async function pollRun(
  client: OpenAI,
  run: { id: string; thread_id: string },
  accept: (r: OpenAI.Beta.Threads.Run) => boolean,
  timeoutMs = 60_000,
): Promise<OpenAI.Beta.Threads.Run> {
  let last: OpenAI.Beta.Threads.Run | undefined
  await expect
    .poll(
      async () => {
        last = await client.beta.threads.runs.retrieve(run.id, { thread_id: run.thread_id })
        return accept(last)
      },
      { timeout: timeoutMs, interval: 50 },
    )
    .toBe(true)
  return last as OpenAI.Beta.Threads.Run
}

/** Polls until the run reaches a terminal status, and returns it. */
export const settled = (client: OpenAI, run: { id: string; thread_id: string }, timeoutMs?: number) =>
  pollRun(client, run, (r) => ['completed', 'failed', 'cancelled', 'expired', 'incomplete'].includes(r.status), timeoutMs)

/** The text of a message's first text part. */
export const textOf = (m: OpenAI.Beta.Threads.Message): string => {
  const part = m.content[0]
  return part?.type === 'text' ? part.text.value : ''
}

/** `n` space-separated words (the fake upstream counts 1 word = 1 token). */
export const words = (n: number, word = 'lorem'): string => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ')
