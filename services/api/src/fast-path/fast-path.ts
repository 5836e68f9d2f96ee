import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppDeps } from '../app.js'
import { bearerKey } from '../middleware/auth.js'
import { errorHeaders, toAnsweredError } from '../middleware/errors.js'
import { idsInPath, logRequest } from '../middleware/request-log.js'
import { newRequestId } from '../middleware/request-id.js'
import { fastMessageList } from './messages.js'
import { fastRunGet, fastRunPost } from './runs.js'
import { fastTurnPost } from './turn-post.js'

/** A Node request listener: @hono/node-server's for the whole app, or the fast path in front of it. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown

/** What the fast path needs of the app's dependencies: the same objects `createApp` is given. */
export type FastPathDeps = Pick<
  AppDeps,
  'apiKeys' | 'stores' | 'turns' | 'runs' | 'webhookPolicy' | 'log' | 'metrics' | 'durability' | 'isShuttingDown' | 'maxBodyBytes'
>

/** A fast POST route: answers from the read `body`, or hands the request to the generic path (`replay`) before doing anything. */
export type FastPost = (fast: FastRequest, threadId: string, body: Buffer, replay: () => void) => void

/** A request the fast path took: its id, project and start, for the answer, the access line and the metrics. */
export interface FastRequest {
  req: IncomingMessage
  res: ServerResponse
  path: string
  requestId: string
  project: string
  /** `performance.now()` when it arrived. */
  start: number
}

/** The fast routes' paths, their ids plain object ids (no `%`, `?` or `/`; domain `isObjectId`): `POST` a turn or a run, `GET` a run or a thread's messages. */
const TURNS = /^\/v1\/threads\/([A-Za-z0-9_-]+)\/turns$/
const RUNS = /^\/v1\/threads\/([A-Za-z0-9_-]+)\/runs$/
const RUN = /^\/v1\/threads\/([A-Za-z0-9_-]+)\/runs\/([A-Za-z0-9_-]+)$/
const MESSAGES = /^\/v1\/threads\/([A-Za-z0-9_-]+)\/messages$/
/** @hono/node-server's own test of a Host header it takes as is; any other goes through its URL parser (its 400s). */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/
/** The JSON types both the body reader (json-body.ts) and Hono's JSON validator take, spelled as clients send them. */
const PLAIN_JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8'])
/** Headers the fast path reads that Node keeps the first of when repeated, where the web `Headers` the generic path reads joins them. */
const SINGLE_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'host', 'idempotency-key', 'transfer-encoding'])

/**
 * The hot routes answered on the Node request itself, in front of the generic stack (Hono, its
 * middleware chain, @hono/node-server's web Request/Response): the turn POST, run create and read,
 * a thread's messages without a query (issue 14: ~0.35 ms of
 * the API's ~0.9 ms CPU per turn went to that machinery; a bare node:http handler of the same turn costs ~0.5).
 *
 * It answers byte for byte as the generic path does (fast-path.test.ts sends the same requests both
 * ways): the same status, headers (`x-request-id`, `content-type`, `connection: close` while shutting
 * down), body, access line, metrics and durability wait. It takes only requests whose answer it can
 * give so: anything unusual before the body is read (a missing or unknown key, a bad id, another
 * content type, a chunked or oversized body, a repeated header, a query string, an empty
 * `Idempotency-Key`, shutting down) goes to the generic stack untouched, and a body that does not
 * parse or validate, or a refused `callback_url`, is replayed there (`rawBody`, which
 * @hono/node-server reads as the body) before anything is stored: every 4xx about the request is
 * the generic path's own. Errors of the work itself (404 thread, 409, 503) are answered as
 * `renderError` answers them (middleware/errors.ts: `toAnsweredError`, `errorHeaders`).
 */
export function withFastPath(deps: FastPathDeps, generic: NodeListener): NodeListener {
  const turnPost: FastPost = fastTurnPost(deps)
  const runPost: FastPost = fastRunPost(deps)
  const runGet = fastRunGet(deps)
  const messageList = fastMessageList(deps)
  const maxBodyBytes = deps.maxBodyBytes ?? 2 * 1024 * 1024
  const post = (req: IncomingMessage, res: ServerResponse, route: FastPost, threadId: string) => {
    const project = plainRequest(req, deps, maxBodyBytes)
    if (project === null) return generic(req, res)
    const fast: FastRequest = { req, res, path: req.url!, requestId: newRequestId(), project, start: performance.now() }
    readBody(req, (body) => route(fast, threadId, body, () => replay(req, res, body, generic)))
  }
  return (req, res) => {
    const url = req.url ?? ''
    if (req.method === 'POST') {
      const turn = TURNS.exec(url)
      if (turn) return post(req, res, turnPost, turn[1]!)
      const run = RUNS.exec(url)
      if (run) return post(req, res, runPost, run[1]!)
    } else if (req.method === 'GET') {
      const run = RUN.exec(url)
      const messages = run ? null : MESSAGES.exec(url)
      const project = run || messages ? plainRequest(req, deps, 0) : null
      if (project !== null) {
        const fast: FastRequest = { req, res, path: url, requestId: newRequestId(), project, start: performance.now() }
        return run ? runGet(fast, run[1]!, run[2]!) : messageList(fast, messages![1]!)
      }
    }
    return generic(req, res)
  }
}

/**
 * The request's project when the generic path would pass it through its checks to the route's
 * validation with nothing to say: a known key, a plain Host, one of each header read, a JSON
 * content type and a declared length within `maxBodyBytes` (0: no body at all), a non-empty
 * `Idempotency-Key` if any, not shutting down. Null: leave the request to the generic path.
 */
function plainRequest(req: IncomingMessage, deps: FastPathDeps, maxBodyBytes: number): string | null {
  if (deps.isShuttingDown?.()) return null
  const raw = req.rawHeaders
  const seen = new Set<string>()
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (!SINGLE_HEADERS.has(name)) continue
    if (seen.has(name)) return null
    seen.add(name)
  }
  const h = req.headers
  if (h['transfer-encoding'] !== undefined) return null
  if (maxBodyBytes === 0) {
    if (h['content-length'] !== undefined && h['content-length'] !== '0') return null
  } else {
    if (h['content-length'] === undefined || Number(h['content-length']) > maxBodyBytes) return null
    if (!PLAIN_JSON_TYPES.has((h['content-type'] ?? '').toLowerCase())) return null
  }
  if (h.host === undefined || !PLAIN_HOST.test(h.host)) return null
  if (h['idempotency-key'] === '') return null
  const key = bearerKey(h.authorization)
  return key === null ? null : (deps.apiKeys.get(key) ?? null)
}

/** Reads the whole body (its length was declared and checked: Node's parser reads no more); nothing if the client goes away first. */
function readBody(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => then(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
  // A reset mid-body: no answer to give (the generic path's would go nowhere either).
  req.on('error', () => {})
}

/** Hands a request whose body was read to the generic path, which takes `rawBody` as its body. */
function replay(req: IncomingMessage, res: ServerResponse, body: Buffer, generic: NodeListener): void {
  ;(req as IncomingMessage & { rawBody?: Buffer }).rawBody = body
  generic(req, res)
}

/** Answers `value` as JSON with `status`, as Hono's `c.json` through @hono/node-server does, then logs and counts it. */
export function sendJson(deps: FastPathDeps, fast: FastRequest, route: string, status: number, value: unknown, extra?: Record<string, string>): void {
  const text = JSON.stringify(value)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': fast.requestId }
  // Names as a web Headers keeps them (lower case, the last value of a name).
  for (const name in extra) headers[name.toLowerCase()] = extra[name]!
  // After the work, as the generic path's shutdown middleware (app.ts) adds it.
  if (deps.isShuttingDown?.()) headers.connection = 'close'
  // @hono/node-server writes a web Headers' entries, which iterate sorted, then its length.
  const sorted: Record<string, string | number> = {}
  for (const name of Object.keys(headers).sort()) sorted[name] = headers[name]!
  sorted['Content-Length'] = Buffer.byteLength(text)
  fast.res.writeHead(status, sorted)
  fast.res.end(text)
  deps.metrics?.observeRequest(fast.req.method!, route, status, fast.start)
  logRequest(deps.log, fast.requestId, fast.req.method!, fast.path, status, fast.start)
}

/** Answers an error as `renderError` (middleware/errors.ts) does: OpenAI's body, its headers, the same log line when it logs one. */
export function sendError(deps: FastPathDeps, fast: FastRequest, route: string, err: unknown): void {
  const { apiError, note } = toAnsweredError(err)
  if (note) deps.log[note.level](note.fields(fast.requestId, idsInPath(fast.path)), note.msg)
  sendJson(deps, fast, route, apiError.status, apiError.toBody(), errorHeaders(apiError))
}
