import { ApiError, isTerminalRunStatus } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { type RedisClient, type Stores, logRedisTroubleOnce } from '@threadwork/storage'
import { Cluster } from 'ioredis'
import type { Context } from 'hono'
import type { AppEnv } from '../env.js'
import type { RunStreamer } from '../routes/runs.js'
import type { RunService } from '../runs/run-service.js'
import { type EventHub, type HubSubscription, type LiveEntry, createEventHub, toEntry } from './event-hub.js'
import { type ReplayFilter, createReplayFilter } from './replay-filter.js'
import { SSE_DONE, SSE_KEEP_ALIVE, sseError, sseFrame } from './sse.js'
import { type SseSink, sseResponse } from './sse-response.js'

export interface RunStreamerDeps {
  runs: RunService
  stores: Stores
  hub: EventHub
  log: Logger
  /**
   * A stream whose run shows no event for this long ends with an `error` event (the run goes on).
   * It only matters when no worker drives the run: a crashed worker's run is taken over within
   * about WORKER_LOCK_MS, and a live one fails a stalled model call after 300 s. Default 360 000.
   */
  idleTimeoutMs?: number
  /**
   * After this long without events the run itself is read: that applies a due expiry (whose
   * events then arrive on the stream), and ends the stream with the run's real status should its
   * live events be missing. Default 5 000.
   */
  checkAfterMs?: number
  /** Comment lines this often keep a quiet stream open through proxies. Default 15 000. */
  keepAliveMs?: number
}

/** Where one SSE response reads: a run's live stream after `from`, up to the next `done`. */
interface Segment {
  project: string
  threadId: string
  runId: string
  /** Exclusive: the stream entry after which this response starts ('0-0' = from the start). */
  from: string
  /** Events sent before the run's (`thread.created`). */
  prelude?: string
}

const TIMEOUT = Symbol('timeout')

/**
 * `stream: true` for create run, create thread and run, and submit tool outputs.
 *
 * The state change itself appends the first events to the run's live stream, atomically
 * (`thread.run.created` + `thread.run.queued` by createRun-5.lua; `thread.run.step.completed` +
 * `thread.run.queued` by the submit commit, whose reply says where they start), so this response
 * reads the stream from that point and nothing between the request and the subscription is lost.
 * It then relays whatever the worker and later commits append until `done`. Reading goes through
 * the shared {@link EventHub}: a few connections per process, not one per stream. A client that
 * disconnects only stops the reading; the run goes on.
 */
export function createRunStreamer(deps: RunStreamerDeps): RunStreamer & { close(): void } {
  const { stores, hub, log } = deps
  const idleTimeoutMs = deps.idleTimeoutMs ?? 360_000
  const checkAfterMs = deps.checkAfterMs ?? 5_000
  const keepAliveMs = deps.keepAliveMs ?? 15_000
  const tickMs = Math.min(idleTimeoutMs, checkAfterMs, keepAliveMs)

  function respond(c: Context<AppEnv>, seg: Segment): Response {
    return sseResponse(c, async (sse) => {
      const key = stores.keys.runEvents(seg.threadId, seg.runId)
      const sub = hub.subscribe(key, stores.keys.shardOf(seg.threadId), seg.from)
      // The client went away: stop reading. Never cancel the run (OpenAI doesn't either).
      sse.onAbort(() => sub.close())
      const filter = createReplayFilter(async (upTo) => {
        const raw = (await stores.redis.xrange(key, `(${seg.from}`, upTo)) as [string, string[]][]
        return raw.map(toEntry)
      })
      try {
        await relay(sse, sub, filter, seg)
      } catch (err) {
        log.error({ err, runId: seg.runId }, 'run stream failed')
        if (!sse.aborted) await sse.write(sseError(`The event stream failed. The run goes on; read it with GET /v1/threads/${seg.threadId}/runs/${seg.runId}.`))
      } finally {
        sub.close()
      }
    })
  }

  async function relay(sse: SseSink, sub: HubSubscription, filter: ReplayFilter, seg: Segment): Promise<void> {
    if (seg.prelude) await sse.write(seg.prelude)
    let pending: Promise<LiveEntry[] | null> | null = null
    let quietSince = Date.now()
    let lastWrite = Date.now()
    let settledSince: number | null = null
    while (!sse.aborted) {
      pending ??= sub.next()
      const got = await within(pending, tickMs)
      if (got !== TIMEOUT) pending = null
      if (sse.aborted) return
      if (got === null) {
        await sse.write(
          sseError(`The server is shutting down. The run goes on; read it with GET /v1/threads/${seg.threadId}/runs/${seg.runId}.`, 'server_shutting_down'),
        )
        return
      }
      const now = Date.now()
      if (got === TIMEOUT) {
        const quiet = now - quietSince
        if (quiet >= idleTimeoutMs) {
          await sse.write(
            sseError(
              `No events for this run in ${Math.round(quiet / 1000)} s; the stream ends here. The run goes on; read it with GET /v1/threads/${seg.threadId}/runs/${seg.runId}.`,
              'stream_timeout',
            ),
          )
          return
        }
        if (quiet >= checkAfterMs) {
          const end = await checkRun(seg, settledSince)
          if (typeof end === 'string') {
            await sse.write(end)
            return
          }
          settledSince = end
        }
        if (now - lastWrite >= keepAliveMs) {
          await sse.write(SSE_KEEP_ALIVE)
          lastWrite = now
        }
        continue
      }
      quietSince = now
      settledSince = null
      const done = got.findIndex((e) => e.event === 'done')
      const events = await filter.push(done < 0 ? got : got.slice(0, done))
      let out = ''
      for (const e of events) out += sseFrame(e.event, e.data)
      // Entries after `done` belong to the next segment (another response's), never this one.
      if (done >= 0) out += SSE_DONE
      if (out !== '') {
        await sse.write(out)
        lastWrite = now
      }
      if (done >= 0) return
    }
  }

  /**
   * A quiet stream: reads the run (applying a due expiry, whose events then come on the stream).
   * If the run is finished or waiting for tool outputs and a further quiet interval still brings
   * no `done`, its live events are missing: the run's status closes the stream. Returns the
   * closing text, or the time the run was first seen settled.
   */
  async function checkRun(seg: Segment, settledSince: number | null): Promise<string | number | null> {
    try {
      const run = await deps.runs.get(seg.project, seg.threadId, seg.runId)
      if (!isTerminalRunStatus(run.status) && run.status !== 'requires_action') return null
      if (settledSince === null) return Date.now()
      return sseFrame(`thread.run.${run.status}`, JSON.stringify(run)) + SSE_DONE
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return sseError(err.message, null, 'invalid_request_error')
      // Redis unreachable: keep waiting; the idle timeout bounds it.
      return settledSince
    }
  }

  return {
    async createRun(c, threadId, params, include) {
      const run = await deps.runs.create(c.get('project'), threadId, params, include)
      return respond(c, { project: c.get('project'), threadId, runId: run.id, from: '0-0' })
    },
    async createThreadAndRun(c, params) {
      const { run, thread } = await deps.runs.createThreadAndRun(c.get('project'), params)
      return respond(c, {
        project: c.get('project'),
        threadId: thread.id,
        runId: run.id,
        from: '0-0',
        prelude: sseFrame('thread.created', JSON.stringify(thread)),
      })
    },
    async submitToolOutputs(c, threadId, runId, params) {
      const { liveFrom } = await deps.runs.submitToolOutputsAt(c.get('project'), threadId, runId, params)
      return respond(c, { project: c.get('project'), threadId, runId, from: liveFrom })
    },
    /** Ends every open stream with an `error` event (shutdown). */
    close: () => hub.close(),
  }
}

/**
 * The streamer with its own event hub over `stores.redis`: blocking readers get connections of
 * their own that queue commands while Redis reconnects (a reader just waits it out).
 */
export function createStreaming(deps: Omit<RunStreamerDeps, 'hub'> & { maxStreamsPerReader?: number }) {
  const redis = deps.stores.redis
  const hub = createEventHub({
    redis,
    connect: (): RedisClient => {
      const conn =
        redis instanceof Cluster
          ? redis.duplicate()
          : redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'threadwork-api-sse' })
      // A duplicate has no listeners: unheard, ioredis prints a stack trace per reconnect attempt
      // while Redis is down. Logged once per outage, shared with the API's other connections.
      logRedisTroubleOnce(conn, deps.log, { connection: 'threadwork-api-sse' })
      return conn
    },
    wakeKey: (group, reader) => deps.stores.keys.streamWake(group, reader),
    log: deps.log,
    maxStreamsPerReader: deps.maxStreamsPerReader,
  })
  return createRunStreamer({ ...deps, hub })
}

/** `promise`'s value, or TIMEOUT after `ms` (the promise stays usable for the next wait). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
