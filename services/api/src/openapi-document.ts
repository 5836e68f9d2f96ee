/**
 * Makes the generated OpenAPI document usable in `/docs` (issue 13, item 13): the bearer security
 * scheme (so Swagger UI's "Authorize" and "Try it out" send `Authorization: Bearer …`), one tag
 * per resource (operations grouped as in OpenAI's reference), a summary on every operation, and
 * the error responses every `/v1` operation can give, in OpenAI's error body.
 */

type Operation = { operationId?: string; summary?: string; tags?: string[]; security?: unknown; responses?: Record<string, unknown> }
type Doc = { paths?: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>>; security?: unknown; tags?: { name: string; description?: string }[] }

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete'])

/** `/v1/threads/{thread_id}/runs/{run_id}/steps` → `Run steps`: the last literal segment names the resource. */
function tagOf(path: string): string {
  const literal = path.split('/').filter((s) => s && s !== 'v1' && !s.startsWith('{'))
  const key = literal.filter((s) => !['cancel', 'submit_tool_outputs', 'rotate_secret', 'test', 'retry', 'content', 'complete', 'parts', 'search'].includes(s)).at(-1) ?? literal[0] ?? 'other'
  const words = key.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** `createThreadAndRun` → `Create thread and run`. */
function summaryOf(operationId: string): string {
  const words = operationId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'param', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } },
    },
  },
}
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
const ERRORS: Record<string, string> = {
  '400': 'Invalid request: the body or a parameter is wrong (`param` names it).',
  '401': 'Missing or incorrect API key.',
  '404': 'No such object in this project, or an unknown URL.',
  '429': 'Rate limited (retry after `retry-after`).',
  '500': 'Server error.',
  '503': 'Redis unavailable or shutting down; retry.',
}

/** Adds security, tags, summaries and error responses in place; returns the document. */
export function polishOpenApi<T>(doc: T): T {
  const d = doc as Doc
  d.components ??= {}
  d.components.securitySchemes = { ...(d.components.securitySchemes ?? {}), bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS (sk-threadwork-dev while API_KEYS is unset, on loopback).' } }
  d.components.schemas = { ...(d.components.schemas ?? {}), Error: ERROR_SCHEMA }
  const tags = new Set<string>()
  for (const [path, item] of Object.entries(d.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method) || typeof op !== 'object' || op === null) continue
      if (!path.startsWith('/v1/')) continue
      const tag = tagOf(path)
      op.tags ??= [tag]
      for (const t of op.tags) tags.add(t)
      op.summary ??= op.operationId ? summaryOf(op.operationId) : `${method.toUpperCase()} ${path}`
      op.security ??= [{ bearerAuth: [] }]
      op.responses ??= {}
      for (const [status, text] of Object.entries(ERRORS)) op.responses[status] ??= errorResponse(text)
    }
  }
  d.tags = [...tags].sort().map((name) => ({ name }))
  return doc
}
