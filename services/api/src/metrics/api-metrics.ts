import { type Keys, type RedisClient, type Stores, observeRunCommits } from '@threadwork/storage'
import type { Queue } from 'bullmq'
import type { Context, MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { registerQueueCollectors } from './queue-collector.js'

export interface ApiMetricsDeps {
  redis: RedisClient
  stores: Stores
  /** Every queue to report depth and age for (all drain and webhook shards). */
  queues: readonly Queue[]
  /** Process metrics (CPU, heap, event-loop lag); off in tests that build many apps. */
  processMetrics?: boolean
  /** Set: scrapes must send `Authorization: Bearer <token>`. */
  token?: string
  /**
   * The API listens beyond loopback (`HOST`, or `0.0.0.0` once API_KEYS is set): without a
   * `token`, scrapes are refused rather than open to whoever reaches the port (request counts per
   * route, memory, queue depths are the operator's, not the internet's).
   */
  publicBind?: boolean
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>

/** Bounded `route` label: the route pattern that answered (`/v1/threads/:thread_id`), never the path. */
export const routeLabel = (c: Context): string => {
  const pattern = routePath(c, -1)
  return c.res.status === 404 && pattern.endsWith('*') ? 'unmatched' : pattern
}

/**
 * The API's Prometheus metrics (`GET /metrics`, text format 0.0.4): HTTP requests, runs created
 * and the API's own run transitions (cancel, lazy expiry), the durability wait, and the
 * queue-level gauges computed from Redis at scrape time (queue-collector.ts).
 */
export function createApiMetrics(deps: ApiMetricsDeps) {
  const registry = new Registry()
  if (deps.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'threadwork_api_' })
  const requests = new Counter({
    name: 'threadwork_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'threadwork_http_request_duration_seconds',
    help: 'Time to the response headers (a stream counts until its first byte).',
    labelNames: ['method', 'route'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  const runsCreated = new Counter({ name: 'threadwork_runs_created_total', help: 'Runs created (status queued).', registers: [registry] })
  const transitions = new Counter({
    name: 'threadwork_run_transitions_total',
    help: 'Run status changes committed by this process, by new status.',
    labelNames: ['status'],
    registers: [registry],
  })
  const durableWait = new Histogram({
    name: 'threadwork_durable_ack_seconds',
    help: 'Time spent confirming an accepted write is on disk (WAITAOF) before answering.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  registerQueueCollectors(registry, { redis: deps.redis, keys: deps.stores.keys as Keys, queues: deps.queues })

  const runs = deps.stores.runs
  const create = runs.create.bind(runs)
  runs.create = async (...args: Parameters<typeof create>) => {
    const result = await create(...args)
    runsCreated.inc()
    return result
  }
  observeRunCommits(deps.stores, ({ plan, outcome }) => {
    if (outcome.ok && plan.run?.status) transitions.inc({ status: plan.run.status })
  })

  /** Counts one answered request and its time since `start` (`performance.now()`); the fast path (fast-path/) calls it too. */
  const observeRequest = (method: string, route: string, status: number, start: number): void => {
    requests.inc({ method, route, status: String(status) })
    latency.observe({ method, route }, (performance.now() - start) / 1000)
  }

  return {
    registry,
    durableWait,
    /** Counts and times every request; mount first. */
    middleware(): MiddlewareHandler {
      return async (c, next) => {
        const start = performance.now()
        await next()
        observeRequest(c.req.method, routeLabel(c), c.res.status, start)
      }
    },
    observeRequest,
    async handler(c: Context): Promise<Response> {
      const refused = deps.token
        ? c.req.header('authorization') !== `Bearer ${deps.token}` && 'Metrics require the metrics token.'
        : deps.publicBind && 'Metrics are not served on a public address without a token: set METRICS_TOKEN and scrape with Authorization: Bearer <token>.'
      if (refused) return c.json({ error: { message: refused, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }, 401)
      return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
    },
  }
}
