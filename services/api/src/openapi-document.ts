/**
 * Makes the generated OpenAPI document usable in `/docs` (issue 13, item 13): the bearer security
 * scheme (so Swagger UI's "Authorize" and "Try it out" send `Authorization: Bearer …`), one tag
 * per resource in the order of OpenAI's API reference (then Threadwork's extensions), a summary
 * on every operation, and the error responses every `/v1` operation can give, in OpenAI's error
 * body (the `Error` component, from the domain's `ErrorResponse` zod schema).
 */

type Operation = {
  operationId?: string
  summary?: string
  tags?: string[]
  security?: unknown
  requestBody?: { content?: Record<string, unknown> }
  responses?: Record<string, unknown>
}
type Doc = {
  info?: { description?: string }
  paths?: Record<string, Record<string, Operation>>
  components?: Record<string, Record<string, unknown>>
  tags?: { name: string; description?: string }[]
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete'])

/**
 * The resources, in the order `/docs` shows them: OpenAI's reference order (Assistants, Threads,
 * Messages, Runs, Run steps, Files, Uploads, Vector stores and their files and batches, Models),
 * then Threadwork's extensions. An operation belongs to the first resource whose pattern matches
 * its path; operations.test.ts checks that every one belongs to some resource.
 */
export const RESOURCES: readonly { name: string; path: RegExp; description: string }[] = [
  { name: 'Assistants', path: /^\/v1\/assistants\b/, description: 'Build assistants that can call models and use tools.' },
  { name: 'Threads', path: /^\/v1\/threads(\/\{thread_id\})?$/, description: 'Threads that assistants can interact with.' },
  { name: 'Messages', path: /^\/v1\/threads\/\{thread_id\}\/messages\b/, description: 'Messages within threads.' },
  {
    name: 'Runs',
    path: /^\/v1\/threads\/(\{thread_id\}\/)?runs\b(?!\/\{run_id\}\/steps)/,
    description: 'Represents an execution run on a thread (`stream: true` answers with server-sent events).',
  },
  { name: 'Run steps', path: /^\/v1\/threads\/\{thread_id\}\/runs\/\{run_id\}\/steps\b/, description: 'The steps (message creation, tool calls) a run took.' },
  { name: 'Files', path: /^\/v1\/files\b/, description: 'Files for assistants, code_interpreter and vector stores (multipart, streamed to storage).' },
  { name: 'Uploads', path: /^\/v1\/uploads\b/, description: 'Large files in parts (each ≤ 64 MB), completed into one File.' },
  {
    name: 'Vector stores',
    path: /^\/v1\/vector_stores(\/\{vector_store_id\}(\/search)?)?$/,
    description: 'Indexed files that file_search and `POST …/search` query.',
  },
  {
    name: 'Vector store files',
    path: /^\/v1\/vector_stores\/\{vector_store_id\}\/files\b/,
    description: 'Files attached to a vector store, ingested by the workers.',
  },
  {
    name: 'Vector store file batches',
    path: /^\/v1\/vector_stores\/\{vector_store_id\}\/file_batches\b/,
    description: 'Several files attached to a vector store at once.',
  },
  { name: 'Models', path: /^\/v1\/models\b/, description: 'The upstream providers’ models (cached 30 s).' },
  {
    name: 'Turns',
    path: /^\/v1\/(threads\/\{thread_id\}\/)?turns\b/,
    description: 'Threadwork extension: POST a user turn, get the answer by signed webhook; turns queue per thread.',
  },
  {
    name: 'Webhook endpoints',
    path: /^\/v1\/webhook_endpoints\b/,
    description: 'Threadwork extension: endpoints subscribed to events, their delivery logs and retries.',
  },
  {
    name: 'Webhook events',
    path: /^\/v1\/webhook_(event_types|signing_secret|callback_deliveries)\b/,
    description: 'Threadwork extension: event types, the project signing secret, deliveries to turn `callback_url`s.',
  },
]
const OTHER = 'Other'

/** The resource (tag) of an operation on `path`, or `Other` when no pattern matches. */
export function resourceOf(path: string): string {
  return RESOURCES.find((r) => r.path.test(path))?.name ?? OTHER
}

/**
 * Summaries where the operationId does not read well. OpenAI's `submitToolOuputsToRun` keeps its
 * spelling (the SDKs and generated clients know the operation by it); its summary need not.
 */
const SUMMARIES: Record<string, string> = { submitToolOuputsToRun: 'Submit tool outputs to run' }

/** `createThreadAndRun` → `Create thread and run`. */
function summaryOf(operationId: string): string {
  const words = operationId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

type ErrorDoc = { description: string; message: string; type?: string; param?: string; code?: string }
/** An error response in OpenAI's body (the `Error` component), with an example of what it says. */
const errorResponse = ({ description, message, type = 'invalid_request_error', param, code }: ErrorDoc) => ({
  description,
  content: {
    'application/json': {
      schema: { $ref: '#/components/schemas/Error' },
      example: { error: { message, type, param: param ?? null, code: code ?? null } },
    },
  },
})
/** What any `/v1` operation can answer, with messages the code gives (middleware/auth.ts, middleware/errors.ts). */
const ERRORS: Record<string, ErrorDoc> = {
  '400': {
    description: 'Invalid request: the body or a parameter is wrong (`param` names it).',
    message: "Missing required parameter: 'model'.",
    param: 'model',
    code: 'missing_required_parameter',
  },
  '401': { description: 'Missing or incorrect API key.', message: 'Incorrect API key provided: sk-***-key.', code: 'invalid_api_key' },
  '404': { description: 'No such object in this project, or an unknown URL.', message: "No assistant found with id 'asst_abc123'." },
  '500': {
    description: 'Server error (logged with the request id; never an internal message).',
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
  },
  '503': {
    description: 'Redis unreachable, or shutting down; retry (`retry-after`).',
    message: 'The service is temporarily unavailable (storage unreachable). Please retry.',
    type: 'server_error',
    code: 'service_unavailable',
  },
}
/** What operations with a request body can answer besides (middleware/json-body.ts, middleware/multipart.ts, files' byte-limit.ts). */
const BODY_ERRORS = (multipart: boolean): Record<string, ErrorDoc> =>
  multipart
    ? {
        '413': {
          description: 'The file or part is larger than `MAX_FILE_BYTES`.',
          message: 'File is too large: the limit is 536870912 bytes.',
          param: 'file',
          code: 'file_too_large',
        },
        '415': {
          description: 'The body is not `multipart/form-data`.',
          message: "Unsupported content type 'application/json'. This endpoint expects multipart/form-data.",
          code: 'unsupported_media_type',
        },
      }
    : {
        '413': {
          description: 'The request body is larger than `MAX_BODY_BYTES`.',
          message: 'Request body too large: the limit is 2097152 bytes.',
          code: 'request_too_large',
        },
        '415': {
          description: 'The body is not `application/json`.',
          message: "Unsupported content type 'text/plain'. The request body must be JSON (Content-Type: application/json).",
          code: 'unsupported_media_type',
        },
      }

/** Adds security, tags, summaries and error responses in place; returns the document. */
export function polishOpenApi<T>(doc: T): T {
  const d = doc as Doc
  d.components ??= {}
  d.components.securitySchemes = {
    ...(d.components.securitySchemes ?? {}),
    bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS (sk-threadwork-dev while API_KEYS is unset, on loopback).' },
  }
  const used = new Set<string>()
  for (const [path, item] of Object.entries(d.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method) || typeof op !== 'object' || op === null) continue
      if (!path.startsWith('/v1/')) continue
      op.tags = [resourceOf(path)]
      used.add(op.tags[0]!)
      op.summary ??= (op.operationId && SUMMARIES[op.operationId]) ?? (op.operationId ? summaryOf(op.operationId) : `${method.toUpperCase()} ${path}`)
      op.security ??= [{ bearerAuth: [] }]
      op.responses ??= {}
      const body = op.requestBody?.content ? BODY_ERRORS('multipart/form-data' in op.requestBody.content) : {}
      for (const [status, error] of Object.entries({ ...ERRORS, ...body })) op.responses[status] ??= errorResponse(error)
      op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)))
    }
  }
  d.tags = [...RESOURCES, { name: OTHER, description: '' }].filter((r) => used.has(r.name)).map(({ name, description }) => ({ name, description }))
  return doc
}
