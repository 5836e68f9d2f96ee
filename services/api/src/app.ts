import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { ApiError, ErrorResponse } from '@threadwork/domain'
import type { FileService, UploadService } from '@threadwork/files'
import type { Logger } from '@threadwork/logger'
import type { RedisClient, Stores } from '@threadwork/storage'
import { type AdminOptions, ADMIN_BASE, adminRoutes } from './admin/admin-routes.js'
import type { AppEnv } from './env.js'
import type { ApiMetrics } from './metrics/api-metrics.js'
import { routeTable } from './method-not-allowed.js'
import { badObjectId } from './object-ids.js'
import { apiKeyAuth } from './middleware/auth.js'
import { renderError } from './middleware/errors.js'
import { jsonBody } from './middleware/json-body.js'
import { type Durability, durableAck } from './middleware/durable-ack.js'
import { requestId } from './middleware/request-id.js'
import { requestLog } from './middleware/request-log.js'
import { polishOpenApi } from './openapi-document.js'
import { assistantRoutes } from './routes/assistants.js'
import { docsRoutes } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { messageRoutes } from './routes/messages.js'
import { type ModelsCatalog, modelRoutes } from './routes/models.js'
import { type RunStreamer, runRoutes } from './routes/runs.js'
import { threadRoutes } from './routes/threads.js'
import { turnRoutes } from './routes/turns.js'
import { vectorStoreFileRoutes } from './routes/vector-store-files.js'
import { vectorStoreRoutes } from './routes/vector-stores.js'
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js'
import type { ModelGate } from './model-gate.js'
import { fileRoutes, fileUploadRoutes } from './routes/files.js'
import { uploadPartRoutes, uploadRoutes } from './routes/uploads.js'
import type { AttachmentService } from './attachments/attachment-service.js'
import type { RunService } from './runs/run-service.js'
import type { TurnService } from './turns/turn-service.js'
import type { WebhookPolicy } from './webhook-policy.js'
import type { VectorStoresApi } from './vector-stores/deps.js'

export interface AppDeps {
  redis: RedisClient
  stores: Stores
  apiKeys: ReadonlyMap<string, string>
  models: ModelsCatalog
  runs: RunService
  turns: TurnService
  /** Refuses unknown model names at assistant create/modify; absent: every name is accepted. */
  modelGate?: ModelGate | null
  /** Files and the Uploads API (`/v1/files`, `/v1/uploads`). */
  files: FileService
  uploads: UploadService
  /** Message attachments: checked against the project's files; code_interpreter ones added to the thread's tool_resources. */
  attachments?: AttachmentService | null
  /** Produces `stream: true` responses; null answers them as plain JSON. */
  streamer?: RunStreamer | null
  log: Logger
  maxBodyBytes?: number
  isShuttingDown?: () => boolean
  /** `ADMIN_TOKEN` and every queue (drain + webhook shards) for `/admin/queues`; absent: no admin routes (404). */
  admin?: AdminOptions | null
  /** `/metrics` (Prometheus); absent: no such route. */
  metrics?: ApiMetrics | null
  /** Holds 2xx answers to writes until they are on disk (WAITAOF); absent: no wait. */
  durability?: Durability | null
  /** Registration checks of webhook targets and the endpoint cap; absent: no private targets, 16 endpoints. */
  webhookPolicy?: WebhookPolicy
  /** The Vector stores API and the vector-store side of tool_resources/attachments; absent: those routes 404. */
  vectorStores?: VectorStoresApi | null
}

/** The whole HTTP API, built from its dependencies (tests build it with real stores). */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>()
  app.use('*', requestId())
  if (deps.metrics) app.use('*', deps.metrics.middleware())
  app.use('*', requestLog(deps.log))
  // While shutting down, tell keep-alive clients to reconnect (to another replica).
  app.use('*', async (c, next) => {
    await next()
    if (deps.isShuttingDown?.()) c.header('connection', 'close')
  })
  app.route('/', healthRoutes(deps.redis, deps.isShuttingDown ?? (() => false)))
  if (deps.metrics) app.get('/metrics', (c) => deps.metrics!.handler(c))
  if (deps.admin) app.route(ADMIN_BASE, adminRoutes(deps.admin))
  app.route('/', docsRoutes())

  const v1 = new OpenAPIHono<AppEnv>()
  v1.use('*', apiKeyAuth(deps.apiKeys))
  // Route matching comes before the body is read: a POST to a path nobody serves is a 404
  // "Invalid URL" (or 405) whatever its body, never a 413/415 about a body nobody would read.
  let table: ReturnType<typeof routeTable> | null = null
  v1.use('*', async (c, next) => {
    table ??= routeTable(app as never)
    const params = table.params(c.req.method, c.req.path)
    if (!params) return unknownRoute(c, table)
    const badId = badObjectId(params)
    if (badId) throw badId
    await next()
  })
  if (deps.durability) v1.use('*', durableAck(deps.durability))
  // Multipart uploads read their own body, streamed (busboy): mounted before the JSON parser,
  // which would otherwise read (and refuse) them first.
  v1.route('/', fileUploadRoutes(deps.files))
  v1.route('/', uploadPartRoutes(deps.uploads))
  v1.use('*', jsonBody(deps.maxBodyBytes ?? 2 * 1024 * 1024))
  v1.route('/', fileRoutes(deps.files))
  v1.route('/', uploadRoutes(deps.uploads))
  const vs = deps.vectorStores ?? null
  v1.route('/', assistantRoutes(deps.stores, deps.modelGate ?? null, vs))
  // Run routes first: `/threads/runs` must not be read as thread id "runs".
  v1.route('/', runRoutes(deps.stores, deps.runs, deps.streamer ?? null))
  v1.route('/', turnRoutes(deps.turns, deps.webhookPolicy))
  v1.route('/', threadRoutes(deps.stores, deps.runs, vs, deps.attachments ?? null))
  v1.route('/', messageRoutes(deps.stores, deps.runs, vs, deps.attachments ?? null))
  v1.route('/', modelRoutes(deps.models))
  v1.route('/', webhookEndpointRoutes(deps.stores, deps.webhookPolicy))
  if (vs) {
    v1.route('/', vectorStoreRoutes(deps.stores, vs))
    v1.route('/', vectorStoreFileRoutes(deps.stores, vs))
  }
  app.route('/v1', v1)

  // Generated from the routes' zod schemas, then given security, tags, summaries and error responses
  // (which refer to this `Error` component).
  app.openAPIRegistry.register('Error', ErrorResponse)
  let openApiDoc: unknown
  app.get('/openapi.json', (c) => {
    openApiDoc ??= polishOpenApi(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'Threadwork',
          version: '0.1.0',
          description:
            'OpenAI Assistants API v2, self-hosted. To try a request here: **Authorize** with an API key (`sk-threadwork-dev` on a local start without `API_KEYS`), open an operation, then **Try it out**.',
        },
        servers: [{ url: '/' }],
      }),
    )
    return c.json(openApiDoc as object)
  })

  app.notFound((c) => {
    table ??= routeTable(app as never)
    return unknownRoute(c, table)
  })
  app.onError((err, c) => renderError(err, c))
  return app
}

/** 405 with `Allow` when the path exists under other methods, else OpenAI's 404 "Invalid URL (METHOD /path)". */
function unknownRoute(c: Context<AppEnv>, table: ReturnType<typeof routeTable>): Response {
  const allowed = table.allowedMethods(c.req.path)
  if (allowed.length > 0) {
    c.header('allow', allowed.join(', '))
    return renderError(new ApiError(405, `Method ${c.req.method} not allowed for ${c.req.path}. Allowed: ${allowed.join(', ')}.`, { code: 'method_not_allowed' }), c)
  }
  return renderError(new ApiError(404, `Invalid URL (${c.req.method} ${c.req.path})`), c)
}
export type App = ReturnType<typeof createApp>
