import { z } from 'zod'

const ApiKeys = z
  .string()
  .transform((raw, ctx) => {
    const keys = new Map<string, string>()
    /** key → its entry's number (1-based), to name both entries of a key given twice. */
    const entryOf = new Map<string, number>()
    for (const [i, pair] of raw.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
      const idx = pair.lastIndexOf(':')
      const key = pair.slice(0, idx).trim()
      const project = pair.slice(idx + 1).trim()
      if (idx <= 0 || !key || !/^[A-Za-z0-9_.-]{1,64}$/.test(project)) {
        // Never echo the pair: it holds a secret.
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not of the form key:project (project: 1-64 of A-Z a-z 0-9 _ . -)` })
        return z.NEVER
      }
      // A key given twice would silently serve only its last project (a copy-paste slip could hand a
      // tenant's key another project's data): refuse it, naming the entries, never the key.
      const earlier = entryOf.get(key)
      if (earlier !== undefined) {
        ctx.addIssue({ code: 'custom', message: `entries ${earlier} and ${i + 1} give the same key; each key belongs to one project` })
        return z.NEVER
      }
      entryOf.set(key, i + 1)
      keys.set(key, project)
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one key:project pair' })
      return z.NEVER
    }
    return keys
  })

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const positiveInt = z.coerce.number().int().positive()

/** Settings every service reads. */
export const BaseEnv = z.object({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * `host:port,host:port`: seed nodes of a Redis Cluster. Set, every service connects with an
   * ioredis `Cluster` (REDIS_URL then supplies only the credentials and TLS); raise REDIS_SHARDS too.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^\s*[^,\s]+:\d{1,5}(\s*,\s*[^,\s]+:\d{1,5})*\s*$/, 'must be a comma-separated list of host:port')
    .transform((s) => s.split(',').map((x) => x.trim()))
    .optional(),
  /** Key prefix for every Redis key and queue; tests give each test its own. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters of A-Z a-z 0-9 _ -')
    .default('tw'),
  LOG_LEVEL: LogLevel.default('info'),
  /** Hash-tagged shards of the thread keyspace and queues (Redis Cluster); part of the key layout. */
  REDIS_SHARDS: positiveInt.max(1024).default(1),
  /** Seconds a run may take before it is `expired` (OpenAI: 600). */
  RUN_EXPIRES_AFTER_SECONDS: positiveInt.default(600),
})

/** The upstream model provider(s). */
export const UpstreamEnv = z.object({
  UPSTREAM_BASE_URL: z.string().url().optional(),
  UPSTREAM_API_KEY: z.string().optional(),
  /** JSON file routing model names to further OpenAI-compatible providers (see README). */
  PROVIDERS_FILE: z.string().optional(),
  UPSTREAM_TIMEOUT_MS: positiveInt.default(120_000),
  /** Context window (prompt + reply tokens) of models whose provider route sets none. */
  CONTEXT_WINDOW_TOKENS: positiveInt.min(256).default(128_000),
  /**
   * The embedding model of vector stores and file_search, routed to a provider like a chat model
   * (PROVIDERS_FILE routes, else UPSTREAM_BASE_URL). Unset: searches are keyword-only (BM25).
   */
  EMBEDDING_MODEL: z.string().min(1).optional(),
  /** Sent as `dimensions` (text-embedding-3 models shorten their vectors; OpenAI's file_search uses 256). Unset: the model's own. */
  EMBEDDING_DIMENSIONS: positiveInt.max(4096).optional(),
})

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')

/**
 * Where file bytes and the search index live (packages/object-storage): a local directory by
 * default; an S3-compatible bucket when `S3_BUCKET` is set, so workers on several hosts share them.
 */
export const StorageEnv = z.object({
  STORAGE_DIR: z.string().default('./.data/storage'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 of a-z 0-9 . -)').optional(),
  /** Custom endpoint of a self-hosted store (MinIO, Ceph, R2…); unset for AWS. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  /** Unset: the AWS SDK's default credential chain (environment, profile, instance role). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** `true`: path-style URLs (`endpoint/bucket/key`), which most self-hosted stores need. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Key prefix inside the bucket (several deployments may share one bucket). */
  S3_PREFIX: z.string().regex(/^[A-Za-z0-9._\/-]*$/, 'may only contain A-Z a-z 0-9 . _ - /').default(''),
  /** Largest file accepted by POST /v1/files and the Uploads API, in bytes (OpenAI: 512 MB). */
  MAX_FILE_BYTES: positiveInt.default(512 * 1024 * 1024),
})
export type StorageEnv = z.infer<typeof StorageEnv>

/** Where webhooks may go: read by the API (registration check) and the dispatcher (every attempt). */
export const WebhookTargetEnv = z.object({
  /**
   * CIDRs, IPs, hostnames — or, narrowest, one `host:port` — that webhook URLs may reach although
   * private (local development only). Cloud metadata addresses stay refused whatever it says.
   */
  WEBHOOK_ALLOW_PRIVATE: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : [])),
  /** Deadline of one DNS resolution of a webhook host (registration check and each attempt). */
  WEBHOOK_DNS_TIMEOUT_MS: positiveInt.default(5_000),
  /** Webhook endpoints one project may register (Stripe allows 16); bounds one tenant's fan-out. */
  WEBHOOK_MAX_ENDPOINTS_PER_PROJECT: positiveInt.max(10_000).default(16),
})

export const ApiEnv = BaseEnv.merge(UpstreamEnv).merge(StorageEnv).merge(WebhookTargetEnv).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Unset: `127.0.0.1` without API_KEYS, `0.0.0.0` with them (`apiListenHost`). */
  HOST: z.string().optional(),
  API_KEYS: ApiKeys.optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * `true`: the API sits behind a TLS-terminating proxy that sets X-Forwarded-Proto/Host/For; the
   * dashboard's origin check, its cookie's Secure flag and its sign-in throttle follow them.
   */
  TRUST_PROXY: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  /** Largest accepted request body. */
  MAX_BODY_BYTES: positiveInt.default(2 * 1024 * 1024),
  /** `auto`: answer 2xx to a write only once it is on disk, as Redis allows (WAITAOF on ≥ 7.2); `off`: never wait. */
  DURABLE_WRITES: z.enum(['auto', 'off']).default('auto'),
  /** WAITAOF timeout; a write not fsynced in time is answered 503. */
  DURABLE_WAIT_TIMEOUT_MS: positiveInt.default(1000),
  /** Set: `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Milliseconds between /readyz turning 503 on SIGTERM and the server closing (load balancers drain). */
  SHUTDOWN_READINESS_DELAY_MS: z.coerce.number().int().min(0).default(0),
  /**
   * A `stream: true` response whose run shows no event for this long ends with an `error` event
   * (the run goes on). Above the worker's 300 s upstream idle limit, so it only fires when no
   * worker drives the run at all.
   */
  STREAM_IDLE_TIMEOUT_MS: positiveInt.default(360_000),
})
export type ApiEnv = z.infer<typeof ApiEnv>

/**
 * How a webhook attempt is made and followed up: read by the dispatcher and by the worker, which
 * makes a turn's first callback attempt itself (services/worker direct-callbacks.ts). Both must
 * be given the same values (with WebhookTargetEnv's SSRF allow-list).
 */
export const WebhookAttemptEnv = z.object({
  /** Attempts of one project in flight at once, across dispatchers: one tenant cannot fill WEBHOOK_CONCURRENCY. */
  WEBHOOK_PROJECT_CONCURRENCY: positiveInt.default(25),
  /** Attempts to one endpoint (or one project's callback_urls) in flight at once. */
  WEBHOOK_ENDPOINT_CONCURRENCY: positiveInt.default(10),
  /** Failed attempts in a row that pause an endpoint (30 s, doubling up to 1 h) rather than retrying it at full rate. */
  WEBHOOK_PAUSE_AFTER_FAILURES: positiveInt.default(5),
  /** Delay (ms) before each attempt, from the first (normally 0); its length is the attempt count. Default: Svix's 0, 5 s … 10 h. Tests shorten it. */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(\s*,\s*\d+)*$/, 'must be a comma-separated list of milliseconds')
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .optional(),
  /** One attempt's budget: connect, headers and the capped body read. */
  WEBHOOK_TIMEOUT_MS: positiveInt.default(15_000),
  /**
   * Outbox entries read but not acknowledged for this long (a dead dispatcher's) are claimed by
   * another. An entry stays pending while its first attempt runs (services/webhooks
   * first-attempts.ts), so this is how soon a killed dispatcher's attempt is sent again; a live
   * one re-claims its long attempts' entries every quarter of it. 10 s (was 60 s, when entries
   * were pending only for their fan-out).
   */
  WEBHOOK_RECLAIM_IDLE_MS: positiveInt.default(10_000),
  /** How long an event's body is kept for retries and manual redelivery. */
  WEBHOOK_EVENT_RETENTION_SECONDS: positiveInt.default(7 * 24 * 3600),
})

export const WorkerEnv = BaseEnv.merge(UpstreamEnv).merge(StorageEnv).merge(WebhookTargetEnv).merge(WebhookAttemptEnv).extend({
  /**
   * `true`: a turn's first callback attempt is made by the worker that committed it, when the
   * callback is the event's only target (services/worker README "Direct callbacks"); `false`
   * (default, until its cost at load is fixed: see there): every event goes through the webhooks
   * service. Ignored on a Redis Cluster (always `false`).
   */
  WORKER_DIRECT_CALLBACKS: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  /**
   * The code_interpreter sandbox hosts' shared token (their SANDBOX_TOKEN). Unset: runs that call
   * code_interpreter fail with a message saying no sandbox is configured.
   */
  SANDBOX_TOKEN: z.string().min(16, 'must be at least 16 characters (the sandbox is never open)').optional(),
  /** Runs one worker process drives at once; LLM calls are I/O-bound, so this can be high. */
  WORKER_CONCURRENCY: positiveInt.default(50),
  /** Seconds a SIGTERMed worker waits for in-flight runs before handing them back. */
  SHUTDOWN_GRACE_SECONDS: positiveInt.default(25),
  /** Lease of a thread drain (and BullMQ lock of ingestion); a SIGKILLed worker's runs are taken over within about 1.4× this (1.5× for ingestion). */
  WORKER_LOCK_MS: positiveInt.default(15_000),
  /** Upstream attempts per model call (429/5xx/timeouts/resets are retried with backoff). */
  UPSTREAM_MAX_ATTEMPTS: positiveInt.max(20).default(4),
  RECONCILE_EVERY_MS: positiveInt.default(10_000),
  /** A mailbox waiting this long with no drain owed is woken again by the reconciler. */
  RECONCILE_STALE_MS: positiveInt.default(15_000),
  /** Set: the worker serves Prometheus `GET /metrics` on this port (run durations, time to first token, …). */
  /** Vector store drains one worker process runs at once (parsing and indexing are CPU-bound: keep it low). */
  INGEST_CONCURRENCY: positiveInt.max(64).default(2),
  /** Attempts at one vector store file (worker crashes included) before it ends `failed` with `server_error`. */
  INGEST_MAX_FILE_ATTEMPTS: positiveInt.max(20).default(3),
  /**
   * Files of one store a drain ingests together: one embeddings stream, one index commit and one
   * round of index maintenance for all of them (each LanceDB commit and optimize has a fixed cost;
   * services/worker/README.md). 1 = a file at a time.
   */
  INGEST_BATCH_FILES: positiveInt.max(256).default(16),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
})
export type WorkerEnv = z.infer<typeof WorkerEnv>

export const WebhooksEnv = BaseEnv.merge(WebhookTargetEnv).merge(WebhookAttemptEnv).extend({
  WEBHOOK_CONCURRENCY: positiveInt.default(100),
  /** BullMQ lock of a delivery job; a SIGKILLed dispatcher's deliveries resume within about 2× this. */
  WEBHOOK_LOCK_MS: positiveInt.default(30_000),
  /** A shard outbox stream's blocking read waits up to this long; the control stream is polled this often besides its pub/sub nudge (which may be lost). */
  WEBHOOK_POLL_MS: positiveInt.default(1_000),
  /** Set: the dispatcher serves Prometheus `GET /metrics` on this port (attempts by outcome). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
})
export type WebhooksEnv = z.infer<typeof WebhooksEnv>

/** Thrown for a bad setting; its message is one human line naming the variable. */
export class EnvError extends Error {
  override name = 'EnvError'
}

/**
 * Parses `source` once at start-up. Never call at import time (style §12): tests pass their own source.
 */
export function loadEnv<S extends z.ZodTypeAny>(schema: S, source: Record<string, string | undefined> = process.env): z.infer<S> {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  const result = schema.safeParse(cleaned)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const name = String(issue.path[0] ?? 'environment')
  // z.coerce.number() turns "abc" into NaN, which zod reports as "expected number, received NaN".
  // Say what was given instead: a numeric setting's value is no secret.
  if (issue.code === 'invalid_type' && issue.expected === 'number' && typeof cleaned[name] === 'string')
    throw new EnvError(`Invalid configuration: ${name} must be a number, got '${cleaned[name]}'`)
  throw new EnvError(`Invalid configuration: ${name} ${issue.message}`)
}

/** For a service's main: load, or print the one-line reason and exit 1. */
export function loadEnvOrExit<S extends z.ZodTypeAny>(schema: S, source: Record<string, string | undefined> = process.env): z.infer<S> {
  return exitOnConfigError(() => loadEnv(schema, source))
}

/**
 * Runs one start-up step that reads configuration (sync or async). A configuration error ends the
 * process with one line on stderr and exit code 1, no stack trace: an {@link EnvError} as it is;
 * with `setting`, every error of the step counts as that setting's, printed as
 * "Invalid configuration: <setting> <message>" ('' when the message names the setting itself).
 * Other errors are thrown (a bug is not a configuration problem).
 */
export function exitOnConfigError<T>(step: () => T, opts: { setting?: string } = {}): T {
  const fail = (err: unknown): never => {
    if (err instanceof EnvError) process.stderr.write(`${err.message}\n`)
    else if (opts.setting !== undefined && err instanceof Error)
      process.stderr.write(`Invalid configuration: ${opts.setting ? `${opts.setting} ` : ''}${err.message}\n`)
    else throw err
    process.exit(1)
  }
  try {
    const result = step()
    return (result instanceof Promise ? result.catch(fail) : result) as T
  } catch (err) {
    return fail(err)
  }
}

/** The development key used when API_KEYS is unset (documented in README; never use in production). */
export const DEV_API_KEYS = new Map([['sk-threadwork-dev', 'default']])
