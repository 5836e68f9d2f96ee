/**
 * What a turn and a run cost (issue 14): CPU milliseconds per completed turn/run for each process
 * (api, worker, webhooks, redis-server; read from /proc/<pid>/stat, so the services run unchanged),
 * Redis commands per turn/run (INFO commandstats deltas: total and top commands) and BullMQ jobs per
 * turn/run (job events read from the queues' event streams), beside the same figures for a raw
 * BullMQ no-op job measured in the same run, and beside the turn skeleton (cost/skeleton-turn.ts):
 * the same three HTTP exchanges, streamed completion, signature and a Redis write per step with
 * none of Threadwork's own work, the floor a turn's CPU can be cut to with these libraries on this
 * machine. Then redis-server's time per turn by top-level call (cost/command-time.ts: SLOWLOG's
 * µs per command, EVALSHA's including its script's commands; load moves it far less than /proc
 * ticks), and one turn traced with MONITOR, commands grouped by the process and the script that
 * sent them.
 *
 * Everything runs against a private redis-server (AOF everysec, as infra/redis.conf), so no other
 * client's commands or CPU are counted. The API runs as its own process; the fake upstream answers
 * at once from its own process; the bench process (the clients, the callback receiver, the
 * producer of the baseline) is not counted except the baseline's producer. Reported, never asserted.
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServiceProcess, startRedisServer, startServiceProcess, uniquePrefix } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { findQueues } from './cost/job-events.js'
import { NOOP_QUEUE, forkNoopWorker } from './cost/noop-worker-process.js'
import { measureCommandTime, printCommandTime } from './cost/command-time.js'
import { CPU_TICK_MS, cpuMs } from './cost/proc-cpu.js'
import { printCostTable } from './cost/report.js'
import { type SkeletonProcess, type SkeletonSettings, forkSkeleton } from './cost/skeleton-turn.js'
import { traceTurns } from './cost/trace.js'
import { type WindowContext, type WindowResult, idleRate, measureWindow } from './cost/window.js'
import { forkFakeUpstream } from './fake-upstream-process.js'
import { benchScale, directCallbacksEnv, scaled, warmupTurns } from './lib.js'

const API_KEY = 'sk-bench-cost'
/** Clients in flight at once: saturation for one process of each service, like the turns bench. */
const IN_FLIGHT = 100
/**
 * Worker processes (BENCH_WORKERS, default 1), sharing the 200 turns of concurrency: several
 * processes committing callbacks of one project is how direct callbacks' slot pools were seen to
 * cascade into BullMQ jobs (bench/cost/HISTORY.md, "Worker: direct callbacks, measured").
 */
const WORKERS = Math.max(1, Number(process.env.BENCH_WORKERS ?? 1))
/** Turns traced at once with MONITOR: enough to share polling and batches as under load, few enough to read. */
const TRACE_BURST = 50

export async function run(): Promise<void> {
  const turns = scaled(1000, 50)
  const runs = scaled(500, 50)
  const noopJobs = scaled(5000, 500)
  const redisServer = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] })
  const upstream = await forkFakeUpstream()
  const prefix = uniquePrefix('bcost')
  const processes: ServiceProcess[] = []
  const stats = new Redis(redisServer.url)
  const events = new Redis(redisServer.url)
  const callbacks = createCallbackReceiver()
  try {
    await upstream.respond({ kind: 'text', text: 'ok' })
    const common = { REDIS_URL: redisServer.url, REDIS_PREFIX: prefix, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x' }
    const started = (p: ServiceProcess) => {
      processes.push(p)
      return p
    }
    const [api, webhooks, ...workers] = await Promise.all([
      startServiceProcess('api', { ...common, PORT: '0', HOST: '127.0.0.1', API_KEYS: `${API_KEY}:bench`, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' }, { readyMessage: 'api listening' }).then(started),
      startServiceProcess('webhooks', { ...common, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' }, { readyMessage: 'webhook dispatcher ready' }).then(started),
      ...Array.from({ length: WORKERS }, () => startServiceProcess('worker', { ...common, WORKER_CONCURRENCY: String(Math.ceil(200 / WORKERS)), ...directCallbacksEnv() }).then(started)),
    ])
    // The first worker is `worker`, the others `worker 2`, … (their CPU is summed into the worker column).
    const workerPids = Object.fromEntries(workers.map((w, i) => [i === 0 ? 'worker' : `worker ${i + 1}`, w.pid]))
    const port = (JSON.parse(api.output.find((l) => l.includes('api listening'))!) as { port: number }).port
    const baseURL = `http://127.0.0.1:${port}/v1`
    const callbackUrl = await callbacks.listen()
    const http = jsonClient(baseURL)
    // Shown whole only by the call that creates it: kept for the skeleton's signer too.
    const signingSecret = (await http<{ signing_secret: string }>('GET', '/webhook_signing_secret')).signing_secret
    callbacks.verifier = new Webhook(signingSecret)
    const assistant = await http<{ id: string }>('POST', '/assistants', { model: 'fake-model' })

    const postTurn = async (threadId: string) => {
      const turn = await http<{ id: string }>('POST', `/threads/${threadId}/turns`, { assistant_id: assistant.id, content: 'hi', callback_url: callbackUrl })
      await callbacks.arrival(turn.id)
    }
    const turnLoad = (n: number) => async () => {
      const threads = await Promise.all(Array.from({ length: IN_FLIGHT }, () => http<{ id: string }>('POST', '/threads', {})))
      // Round by round, so each thread has about one turn in flight and all threads are busy.
      const work = Array.from({ length: n }, (_, i) => threads[i % threads.length]!.id)
      await inFlight(work, postTurn)
      return n
    }

    // Warm up (JIT, script caches, queues created), then learn what idling costs.
    await turnLoad(warmupTurns())()
    const ctx: WindowContext = {
      stats,
      events,
      prefix,
      queues: await findQueues(stats, prefix),
      pids: { api: api.pid, ...workerPids, webhooks: webhooks.pid, 'redis-server': redisServer.process.pid ?? -1 },
      idleCommandsPerSecond: await idleRate(stats, 2),
    }
    ctx.queues.push(NOOP_QUEUE)

    // Threads are made inside the window but before the clock matters: count them out by making them first.
    const turnThreads = await Promise.all(Array.from({ length: IN_FLIGHT }, () => http<{ id: string }>('POST', '/threads', {})))
    const turnWindow = await measureWindow(ctx, async () => {
      await inFlight(Array.from({ length: turns }, (_, i) => turnThreads[i % turnThreads.length]!.id), postTurn)
      return turns
    })

    let requests = 0
    const sdk = new OpenAI({
      baseURL,
      apiKey: API_KEY,
      // The SDK's default: a keep-alive socket the server closes just as it is reused is retried, as for any user.
      maxRetries: 2,
      fetch: (url, init) => {
        requests++
        return fetch(url, init)
      },
    })
    const runThreads = await Promise.all(Array.from({ length: IN_FLIGHT }, () => sdk.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] })))
    requests = 0
    const runWindow = await measureWindow(ctx, async () => {
      // Each of the IN_FLIGHT clients keeps to its own thread: a thread has one active run at a
      // time (OpenAI's rule), so handing threads round-robin to whichever client is free would
      // now and then create a run beside a slow one on the same thread and get the 400 "already
      // has an active run" (seen as 5–27 per bench run, once mistaken for SDK retries).
      let started = 0
      await Promise.all(
        runThreads.map(async (thread) => {
          while (started < runs) {
            started++
            const r = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id })
            if (r.status !== 'completed') throw new Error(`run ${r.id} ended ${r.status}`)
          }
        }),
      )
      return runs
    })
    const requestsPerRun = requests / runs

    const noopWindow = await measureNoop(ctx, redisServer.url, prefix, noopJobs)
    const skeletonSettings = { redisUrl: redisServer.url, prefix: `${prefix}:skeleton`, upstreamBaseURL: upstream.baseURL, signingSecret }
    const skeletonWindow = await measureSkeleton(ctx, skeletonSettings, callbacks, callbackUrl, turns)

    printCostTable({
      scale: benchScale(),
      cpuTickMs: CPU_TICK_MS,
      idleCommandsPerSecond: ctx.idleCommandsPerSecond,
      rows: [
        { label: 'turn (POST → verified callback)', front: 'api', window: turnWindow },
        { label: `run (SDK createAndPoll, ${requestsPerRun.toFixed(1)} HTTP requests/run)`, front: 'api', window: runWindow },
        { label: 'raw BullMQ no-op job (add → completed)', front: 'producer', window: noopWindow },
        { label: 'turn skeleton (bench/cost/skeleton-turn.ts)', front: 'api', window: skeletonWindow, skeleton: true },
      ],
      callbackFailures: callbacks.failures,
    })

    // redis-server's time per turn by top-level call, on fresh threads, driven like the turn row.
    const timedTurns = scaled(500, 50)
    const timedThreads = await Promise.all(Array.from({ length: IN_FLIGHT }, () => http<{ id: string }>('POST', '/threads', {})))
    const redisCpu0 = cpuMs(ctx.pids['redis-server']!)
    const times = await measureCommandTime(redisServer.url, ctx.pids, () =>
      inFlight(Array.from({ length: timedTurns }, (_, i) => timedThreads[i % timedThreads.length]!.id), postTurn),
    )
    printCommandTime(
      `cost: redis-server's time per turn by top-level call (SLOWLOG at 0 µs, ${timedTurns} turns, ${IN_FLIGHT} in flight; an EVALSHA's time includes its script's commands)`,
      times,
      timedTurns,
      (cpuMs(ctx.pids['redis-server']!) - redisCpu0) / timedTurns,
    )

    // Traced on fresh threads: a burst of turns at once (per-turn counts by caller), then one turn alone (its timeline).
    const burst = await Promise.all(Array.from({ length: TRACE_BURST }, () => http<{ id: string }>('POST', '/threads', {})))
    const lone = await http<{ id: string }>('POST', '/threads', {})
    await traceTurns({
      redisUrl: redisServer.url,
      pids: ctx.pids,
      burst: { turns: TRACE_BURST, run: () => inFlight(burst.map((t) => t.id), postTurn) },
      one: () => postTurn(lone.id),
    })
  } catch (err) {
    // Printed before the clean-up: a failure there must not hide the cause.
    console.error('cost bench failed:', err)
    throw err
  } finally {
    for (const p of processes) p.kill('SIGTERM')
    await Promise.all(processes.map((p) => p.exited))
    stats.disconnect()
    events.disconnect()
    await callbacks.close()
    await upstream.close()
    await redisServer.cleanup()
  }
}

/** The baseline: `jobs` no-op jobs added by IN_FLIGHT producers in this process, consumed by a no-op Worker in a child process. */
async function measureNoop(ctx: WindowContext, redisUrl: string, prefix: string, jobs: number): Promise<WindowResult> {
  const consumer = await forkNoopWorker(redisUrl, prefix, 50)
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = new Queue(NOOP_QUEUE, { connection, prefix })
  try {
    await queue.add('warm', {}, { removeOnComplete: true })
    await consumer.completed(1)
    let producerMs = 0
    const result = await measureWindow(
      ctx,
      async () => {
        const cpu0 = process.cpuUsage()
        let n = 0
        await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
          while (n < jobs) {
            n++
            await queue.add('noop', {}, { removeOnComplete: true })
          }
        }))
        const used = process.cpuUsage(cpu0)
        producerMs = (used.user + used.system) / 1000
        await consumer.completed(jobs + 1)
        return jobs
      },
      { 'noop worker': consumer.pid },
    )
    // The producer ran in this process: its CPU is this process's during the adds.
    result.cpu.producer = producerMs
    return result
  } finally {
    await consumer.close()
    await queue.obliterate({ force: true })
    await queue.close()
    connection.disconnect()
  }
}

/**
 * The floor: `turns` turns through the skeleton (skeleton-turn.ts: the same three HTTP exchanges,
 * libraries and Redis round trips, none of the product's work), driven like the turn row, its
 * three processes' CPU read in place of the services'.
 */
async function measureSkeleton(
  ctx: WindowContext,
  settings: SkeletonSettings,
  callbacks: ReturnType<typeof createCallbackReceiver>,
  callbackUrl: string,
  turns: number,
): Promise<WindowResult> {
  const forked = await Promise.allSettled((['api', 'worker', 'webhooks'] as const).map((role) => forkSkeleton(role, settings)))
  const roles = forked.flatMap((f) => (f.status === 'fulfilled' ? [f.value] : []))
  try {
    for (const f of forked) if (f.status === 'rejected') throw f.reason
    const [api, worker, webhooks] = roles as [SkeletonProcess, SkeletonProcess, SkeletonProcess]
    const http = jsonClient(`${api.baseURL}/v1`)
    const postTurn = async (threadId: string) => {
      const turn = await http<{ id: string }>('POST', `/threads/${threadId}/turns`, { content: 'hi', callback_url: callbackUrl })
      await callbacks.arrival(turn.id)
    }
    const threads = Array.from({ length: IN_FLIGHT }, (_, i) => `thread_skeleton${i}`)
    const load = (n: number) => () => inFlight(Array.from({ length: n }, (_, i) => threads[i % threads.length]!), postTurn).then(() => n)
    await load(warmupTurns())()
    const pids = { api: api.pid, worker: worker.pid, webhooks: webhooks.pid, 'redis-server': ctx.pids['redis-server']! }
    return await measureWindow({ ...ctx, pids }, load(turns))
  } finally {
    await Promise.all(roles.map((r) => r.close()))
  }
}

/** Runs `fn` over `items` with IN_FLIGHT at a time. */
async function inFlight<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

function jsonClient(baseURL: string) {
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
    // A turn waits for its callback longer than the API's keep-alive timeout (5 s) on a busy machine:
    // the server may close that idle socket just as fetch reuses it. It closes only idle sockets,
    // so the request was not read, and sending it again is safe (the SDK retries the same way).
    const res = await fetch(`${baseURL}${path}`, init).catch((err: Error & { cause?: { code?: string } }) => {
      if (err.cause?.code !== 'ECONNRESET' && err.cause?.code !== 'UND_ERR_SOCKET') throw err
      return fetch(`${baseURL}${path}`, init)
    })
    const json = (await res.json()) as T
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`)
    return json
  }
}

/** A local receiver for turn callbacks that verifies every signature; `arrival(turnId)` resolves when its callback came (before or after the call). */
function createCallbackReceiver() {
  const waiting = new Map<string, () => void>()
  const early = new Set<string>()
  const state = { verifier: null as Webhook | null, failures: 0 }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      res.writeHead(200).end()
      try {
        const event = state.verifier!.verify(body, req.headers as Record<string, string>) as { type: string; data: { turn: { id: string } } }
        if (!event.type.startsWith('thread.turn.')) return
        const id = event.data.turn.id
        const resolve = waiting.get(id)
        if (resolve) {
          waiting.delete(id)
          resolve()
        } else early.add(id)
      } catch {
        state.failures++
      }
    })
  })
  return {
    set verifier(v: Webhook) {
      state.verifier = v
    },
    get failures() {
      return state.failures
    },
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    },
    arrival(turnId: string): Promise<void> {
      if (early.delete(turnId)) return Promise.resolve()
      return new Promise<void>((resolve) => waiting.set(turnId, resolve))
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
