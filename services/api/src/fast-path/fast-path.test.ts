import { Agent, type IncomingHttpHeaders, type Server, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import { type ApiServer, type FakeUpstream, startApiServer, startFakeUpstream } from '@threadwork/test-utils'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withFastPath } from './fast-path.js'

/**
 * The fast path answers as the generic path does: every request below goes to a server of the
 * app's generic stack and to one with the fast path in front (same app, same stores), and the two
 * answers must match in status, raw headers (names, case, order; only `date` and the request id's
 * value set aside) and body (new turn ids and timestamps set aside), the access lines and the
 * metrics they add too. Each case also says whether the fast path must take it itself.
 */

interface Case {
  name: string
  method?: string
  /** Default: the turns of the shared thread; a function for a path of each server's own. */
  path?: string | ((who: 'plain' | 'fast') => string)
  /** Raw header pairs; `{who}` in a value becomes `plain` or `fast` (an Idempotency-Key per server). */
  headers?: [string, string][]
  body?: string | Buffer
  /** Ids of each server's own objects (`path` as a function), read as one in the answers and access lines. */
  own?: (who: 'plain' | 'fast') => string[]
  /** Sent in chunks without a length. */
  chunked?: boolean
  /** The fast path answers it without the generic stack (else: left or replayed to it). */
  fast: boolean
}

interface Answer {
  status: number
  headers: string[]
  body: string
}

const KEY_ALPHA = 'sk-fast-alpha'
const KEY_BETA = 'sk-fast-beta'
const logLines: Record<string, unknown>[] = []
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  }),
)

/** One app served twice: by its generic stack alone, and with the fast path in front (counting what it leaves to the generic stack). */
interface Pair {
  api: ApiServer
  plain: Server
  fast: Server
  genericCallsOnFast: number
}

let upstream: FakeUpstream
let api: ApiServer
let pair: Pair
let threadId: string
let otherThreadId: string
let assistantId: string

beforeAll(async () => {
  upstream = await startFakeUpstream()
  api = await startApiServer(apiOptions())
  pair = await servePair(api)
  assistantId = (await api.stores.assistants.create('alpha', { model: 'fake-model' })).id
  threadId = (await api.stores.threads.create('alpha', {})).thread.id
  otherThreadId = (await api.stores.threads.create('beta', {})).thread.id
})

afterAll(async () => {
  if (pair) await closePair(pair)
  await api?.close()
  await upstream?.close()
})

const apiOptions = () => ({
  upstreamBaseURL: upstream.baseURL,
  apiKeys: new Map([
    [KEY_ALPHA, 'alpha'],
    [KEY_BETA, 'beta'],
  ]),
  maxBodyBytes: 4096,
  operations: {},
  log: log as never,
})

async function servePair(api: ApiServer): Promise<Pair> {
  const generic = getRequestListener(api.app.fetch, { hostname: '127.0.0.1' })
  const plain = await listen(createServer(generic))
  const p: Pair = { api, plain, fast: plain, genericCallsOnFast: 0 }
  p.fast = await listen(
    createServer(
      withFastPath(api.deps, (req, res) => {
        p.genericCallsOnFast++
        return generic(req, res)
      }),
    ),
  )
  return p
}

async function closePair(p: Pair): Promise<void> {
  for (const server of [p.plain, p.fast]) {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

const agents = new Map<Server, Agent>()
function send(server: Server, who: 'plain' | 'fast', c: Case): Promise<Answer> {
  const { port } = server.address() as AddressInfo
  if (!agents.has(server)) agents.set(server, new Agent({ keepAlive: true }))
  const headers = (
    c.headers ?? [
      ['authorization', `Bearer ${KEY_ALPHA}`],
      ['content-type', 'application/json'],
    ]
  ).flatMap(([k, v]) => [k, v.replaceAll('{who}', who)])
  const body = c.body === undefined ? undefined : Buffer.from(c.body)
  const has = (name: string) => headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === name)
  // Raw header pairs go out as given: Node adds neither Host nor the length itself.
  if (!has('host')) headers.unshift('host', `127.0.0.1:${port}`)
  if (body && !c.chunked && !has('content-length')) headers.push('content-length', String(body.length))
  if (body && c.chunked) headers.push('transfer-encoding', 'chunked')
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: c.method ?? 'POST',
        path: typeof c.path === 'function' ? c.path(who) : (c.path ?? `/v1/threads/${threadId}/turns`),
        headers: headers as unknown as IncomingHttpHeaders,
        agent: agents.get(server),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', reject)
    if (body && c.chunked) {
      req.write(body.subarray(0, 5))
      req.end(body.subarray(5))
    } else req.end(body)
  })
}

/** What may differ between two right answers: the date, the request id's value, a new turn's ids (its message's and run's too) and time. */
function normalize(a: Answer): Answer {
  const headers = a.headers.map((v, i) => {
    const name = a.headers[i - 1]?.toLowerCase()
    if (i % 2 === 1 && name === 'date') return 'DATE'
    if (i % 2 === 1 && name === 'x-request-id') return /^req_[0-9a-f]{32}$/.test(v) ? 'REQUEST-ID' : `bad request id ${v}`
    return v
  })
  // Every Unix-seconds field (created_at, expires_at, cancelled_at, …): the two servers' objects are
  // written one after the other and may straddle a second.
  const body = a.body.replace(/\b(turn|msg|run)_[A-Za-z0-9]+/g, '$1_ID').replace(/"(\w+_at)":\d+/g, '"$1":0')
  return { status: a.status, headers, body }
}

/** The access lines (and unhandled-error lines) a request wrote, without what differs by run. */
function linesSince(n: number): unknown[] {
  const aboutRequests = new Set(['request', 'request failed', 'unhandled error'])
  return logLines
    .slice(n)
    .filter((line) => aboutRequests.has(line.msg as string))
    .map(({ time: _t, pid: _p, hostname: _h, requestId, ms, err: _e, ...rest }) => ({
      ...rest,
      requestId: typeof requestId === 'string' && /^req_[0-9a-f]{32}$/.test(requestId),
      ms: typeof ms === 'number',
    }))
}

/** The request counters and latency counts in the metrics, by series. */
async function requestSeries(api: ApiServer): Promise<Map<string, number>> {
  const text = await api.deps.metrics!.registry.metrics()
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('threadwork_http_requests_total{') && !line.startsWith('threadwork_http_request_duration_seconds_count{')) continue
    const at = line.lastIndexOf(' ')
    series.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return series
}

function added(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of after) if (v !== (before.get(k) ?? 0)) out[k] = v - (before.get(k) ?? 0)
  return out
}

/** Sends `c` to the generic server, then to the fast one, and checks they answered, logged and counted alike. */
async function sameBothWays(c: Case, p: Pair = pair): Promise<Answer> {
  const answers: Answer[] = []
  const lines: unknown[][] = []
  const metrics: Record<string, number>[] = []
  for (const [server, who] of [
    [p.plain, 'plain'],
    [p.fast, 'fast'],
  ] as const) {
    const generic0 = p.genericCallsOnFast
    const lines0 = logLines.length
    const metrics0 = await requestSeries(p.api)
    const ownIds = (text: string) => (c.own?.(who) ?? []).reduce((t, id, i) => t.replaceAll(id, `OWN${i}`), text)
    const answer = normalize(await send(server, who, c))
    answers.push({ ...answer, body: ownIds(answer.body) })
    // Written by the time the answer is read: in the same turn of this one process's event loop as its last bytes were sent.
    lines.push(JSON.parse(ownIds(JSON.stringify(linesSince(lines0)))) as unknown[])
    metrics.push(added(metrics0, await requestSeries(p.api)))
    if (who === 'fast') expect(p.genericCallsOnFast - generic0, `${c.name}: taken by the fast path`).toBe(c.fast ? 0 : 1)
  }
  expect(answers[1], c.name).toEqual(answers[0])
  expect(lines[1], `${c.name}: access lines`).toEqual(lines[0])
  expect(metrics[1], `${c.name}: metrics`).toEqual(metrics[0])
  return answers[0]!
}

const json = (v: unknown) => JSON.stringify(v)
const auth = (key = KEY_ALPHA): [string, string] => ['authorization', `Bearer ${key}`]
const jsonType: [string, string] = ['content-type', 'application/json']

describe('fast path: POST /v1/threads/{id}/turns answers as the generic path', () => {
  it('valid turns: 202 with the turn', async () => {
    const cases: Case[] = [
      { name: 'minimal', body: json({ assistant_id: assistantId, content: 'hi' }), fast: true },
      {
        name: 'callback_url, metadata, run overrides',
        body: json({
          assistant_id: assistantId,
          content: [{ type: 'text', text: 'hello' }],
          callback_url: 'http://127.0.0.1:9/hook',
          metadata: { a: 'b' },
          run: { instructions: 'be brief', temperature: 0.5 },
        }),
        fast: true,
      },
      {
        name: 'charset, no space, upper case',
        headers: [auth(), ['content-type', 'Application/JSON;charset=UTF-8']],
        body: json({ assistant_id: assistantId, content: 'hi' }),
        fast: true,
      },
      {
        name: 'charset in the content type',
        headers: [auth(), ['Content-Type', 'application/json; charset=utf-8']],
        body: json({ assistant_id: assistantId, content: 'hi' }),
        fast: true,
      },
      {
        name: 'lower-case bearer, spaces',
        headers: [['Authorization', `  bearer   ${KEY_ALPHA} `], jsonType],
        body: json({ assistant_id: assistantId, content: 'hi' }),
        fast: true,
      },
      { name: 'whitespace around the JSON', body: `\n ${json({ assistant_id: assistantId, content: 'hi' })} \n`, fast: true },
    ]
    for (const c of cases) expect((await sameBothWays(c)).status, c.name).toBe(202)
  })

  it('Idempotency-Key: the first request and its retry', async () => {
    const c: Case = {
      name: 'keyed',
      headers: [auth(), jsonType, ['Idempotency-Key', 'key-{who}']],
      body: json({ assistant_id: assistantId, content: 'once' }),
      fast: true,
    }
    const first = await sameBothWays(c)
    const again = await sameBothWays({ ...c, name: 'keyed retry' })
    expect(again).toEqual(first)
    const conflicting = await sameBothWays({ ...c, name: 'same key, other body', body: json({ assistant_id: assistantId, content: 'other' }) })
    expect(conflicting.status).toBeGreaterThanOrEqual(400)
  })

  it('refusals of the work itself (thread, assistant, project, model, tool_choice): the same answer', async () => {
    const cases: Case[] = [
      { name: 'no such thread', path: '/v1/threads/thread_nope/turns', body: json({ assistant_id: assistantId, content: 'hi' }), fast: true },
      { name: 'no such assistant', body: json({ assistant_id: 'asst_nope', content: 'hi' }), fast: true },
      { name: "another project's thread", path: `/v1/threads/${otherThreadId}/turns`, body: json({ assistant_id: assistantId, content: 'hi' }), fast: true },
      { name: 'model not served', body: json({ assistant_id: assistantId, content: 'hi', run: { model: 'no-such-model' } }), fast: true },
      {
        name: 'tool_choice without the tool',
        body: json({ assistant_id: assistantId, content: 'hi', run: { tool_choice: { type: 'file_search' } } }),
        fast: true,
      },
    ]
    for (const c of cases) {
      const answer = await sameBothWays(c)
      // The model check's answer depends on what the provider lists (a 400, or accepted): the same both ways is what counts.
      if (c.name !== 'model not served') expect(answer.status, c.name).toBeGreaterThanOrEqual(400)
    }
  })

  it('bad bodies: the generic path answers them', async () => {
    const ok = json({ assistant_id: assistantId, content: 'hi' })
    const cases: Case[] = [
      { name: 'malformed JSON', body: '{"assistant_id":', fast: false },
      { name: 'empty body', body: '', fast: false },
      { name: 'no body, no length', headers: [auth(), jsonType], fast: false },
      { name: 'a JSON array', body: '[1]', fast: false },
      { name: 'JSON null', body: 'null', fast: false },
      { name: 'a JSON string', body: '"hi"', fast: false },
      { name: 'a byte-order mark', body: `\uFEFF${ok}`, fast: false },
      { name: 'unknown field', body: json({ assistant_id: assistantId, content: 'hi', colour: 'red' }), fast: false },
      { name: 'missing assistant_id', body: json({ content: 'hi' }), fast: false },
      { name: 'content of the wrong type', body: json({ assistant_id: assistantId, content: 42 }), fast: false },
      { name: '__proto__ key', body: `{"assistant_id":"${assistantId}","content":"hi","metadata":{"__proto__":{"x":"1"}}}`, fast: false },
      {
        name: 'nested too deeply',
        body: json({ assistant_id: assistantId, content: 'hi', metadata: JSON.parse(`${'{"a":'.repeat(80)}1${'}'.repeat(80)}`) }),
        fast: false,
      },
      { name: 'over the size limit', body: json({ assistant_id: assistantId, content: 'x'.repeat(5000) }), fast: false },
      { name: 'chunked, over the limit', body: json({ assistant_id: assistantId, content: 'x'.repeat(5000) }), chunked: true, fast: false },
      { name: 'chunked', body: ok, chunked: true, fast: false },
      {
        name: 'invalid UTF-8',
        body: Buffer.concat([Buffer.from(`{"assistant_id":"${assistantId}","content":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
        fast: true,
      },
    ]
    for (const c of cases) await sameBothWays(c)
  })

  it('content types, auth, ids, paths and headers the fast path leaves alone', async () => {
    const ok = json({ assistant_id: assistantId, content: 'hi' })
    const cases: Case[] = [
      { name: 'text/plain', headers: [auth(), ['content-type', 'text/plain']], body: ok, fast: false },
      { name: 'no content type', headers: [auth()], body: ok, fast: false },
      { name: 'application/json-patch+json', headers: [auth(), ['content-type', 'application/json-patch+json']], body: ok, fast: false },
      { name: 'application/jsonx', headers: [auth(), ['content-type', 'application/jsonx']], body: ok, fast: false },
      { name: 'no key', headers: [jsonType], body: ok, fast: false },
      { name: 'unknown key', headers: [auth('sk-nope'), jsonType], body: ok, fast: false },
      { name: 'not Bearer', headers: [['authorization', `Basic ${KEY_ALPHA}`], jsonType], body: ok, fast: false },
      { name: 'two Authorization headers', headers: [auth(), auth(KEY_BETA), jsonType], body: ok, fast: false },
      { name: 'two content types', headers: [auth(), jsonType, ['content-type', 'text/plain']], body: ok, fast: false },
      { name: 'another project', headers: [auth(KEY_BETA), jsonType], body: ok, fast: true },
      { name: 'an id no object can have', path: '/v1/threads/thread:x/turns', body: ok, fast: false },
      { name: 'a percent-encoded id', path: `/v1/threads/${threadId.replace('_', '%5F')}/turns`, body: ok, fast: false },
      { name: 'a query string', path: `/v1/threads/${threadId}/turns?x=1`, body: ok, fast: false },
      { name: 'a trailing slash', path: `/v1/threads/${threadId}/turns/`, body: ok, fast: false },
      { name: 'GET the turns', method: 'GET', headers: [auth()], fast: false },
      { name: 'PUT the turns', method: 'PUT', body: ok, fast: false },
      { name: 'an empty Idempotency-Key', headers: [auth(), jsonType, ['idempotency-key', '']], body: ok, fast: false },
      { name: 'two Idempotency-Keys', headers: [auth(), jsonType, ['idempotency-key', 'a-{who}'], ['idempotency-key', 'b-{who}']], body: ok, fast: false },
      { name: 'a Host with a low port', headers: [auth(), jsonType, ['host', 'localhost:80']], body: ok, fast: false },
      { name: 'an odd Host', headers: [auth(), jsonType, ['host', 'bad host']], body: ok, fast: false },
    ]
    for (const c of cases) await sameBothWays(c)
  })

  it('callback_url refusals (SSRF): the generic path answers them', async () => {
    const cases: Case[] = [
      { name: 'metadata address', body: json({ assistant_id: assistantId, content: 'hi', callback_url: 'http://169.254.169.254/latest' }), fast: false },
      { name: 'private address', body: json({ assistant_id: assistantId, content: 'hi', callback_url: 'http://10.1.2.3:8080/hook' }), fast: false },
      { name: 'loopback IPv6', body: json({ assistant_id: assistantId, content: 'hi', callback_url: 'http://[::1]/hook' }), fast: false },
      { name: 'not http', body: json({ assistant_id: assistantId, content: 'hi', callback_url: 'ftp://127.0.0.1/hook' }), fast: false },
      { name: 'not a URL', body: json({ assistant_id: assistantId, content: 'hi', callback_url: 'hook' }), fast: false },
    ]
    for (const c of cases) expect((await sameBothWays(c)).status, c.name).toBe(400)
  })

  it('storage unreachable: the same 503 with retry-after, the access line a warning', async () => {
    const down = await startApiServer(apiOptions())
    const downPair = await servePair(down)
    try {
      down.redis.disconnect()
      const answer = await sameBothWays({ name: 'Redis down', body: json({ assistant_id: assistantId, content: 'hi' }), fast: true }, downPair)
      expect(answer.status).toBe(503)
      expect(answer.headers).toContain('retry-after')
    } finally {
      await closePair(downPair)
      await down.redis.connect()
      await down.close()
    }
  })
})

describe('fast path: POST /v1/threads/{id}/runs and GET /v1/threads/{id}/runs/{id} answer as the generic path', () => {
  it('create, read, refuse: the same answers', async () => {
    // A thread takes one active run: each server gets its own, so both see the same state.
    const threads = { plain: '', fast: '' }
    const runIds = { plain: '', fast: '' }
    for (const who of ['plain', 'fast'] as const) threads[who] = (await api.stores.threads.create('alpha', {})).thread.id
    const runs = (who: 'plain' | 'fast') => `/v1/threads/${threads[who]}/runs`
    const own = (who: 'plain' | 'fast') => [threads[who], runIds[who]].filter(Boolean)
    const created = await sameBothWays({
      name: 'create',
      path: runs,
      body: json({ assistant_id: assistantId, stream: false, temperature: 0.2, metadata: { k: 'v' } }),
      fast: true,
      own,
    })
    expect(created.status).toBe(200)
    expect(created.headers).toContain('openai-poll-after-ms')
    for (const who of ['plain', 'fast'] as const) runIds[who] = (await api.stores.runs.list('alpha', threads[who], { limit: 1, order: 'desc' })).data[0]!.id
    const run = (who: 'plain' | 'fast') => `/v1/threads/${threads[who]}/runs/${runIds[who]}`
    const cases: Case[] = [
      { name: 'a second active run', path: runs, body: json({ assistant_id: assistantId }), fast: true, own },
      { name: 'no such thread', path: '/v1/threads/thread_nope/runs', body: json({ assistant_id: assistantId }), fast: true, own },
      { name: 'no such assistant', path: runs, body: json({ assistant_id: 'asst_nope' }), fast: true, own },
      { name: 'unknown field', path: runs, body: json({ assistant_id: assistantId, colour: 'red' }), fast: false, own },
      { name: 'malformed JSON', path: runs, body: '{', fast: false, own },
      { name: 'missing assistant_id', path: runs, body: json({}), fast: false, own },
      {
        name: 'an include query',
        path: (who) => `${runs(who)}?include[]=step_details.tool_calls[*].file_search.results[*].content`,
        body: json({ assistant_id: assistantId }),
        fast: false,
        own,
      },
      { name: 'no key', path: runs, headers: [jsonType], body: json({ assistant_id: assistantId }), fast: false, own },
      { name: 'GET the run', method: 'GET', path: run, headers: [auth()], fast: true, own },
      { name: 'GET the run, another project', method: 'GET', path: run, headers: [auth(KEY_BETA)], fast: true, own },
      { name: 'GET no such run', method: 'GET', path: (who) => `/v1/threads/${threads[who]}/runs/run_nope`, headers: [auth()], fast: true, own },
      { name: 'GET an id no object can have', method: 'GET', path: (who) => `/v1/threads/${threads[who]}/runs/run:x`, headers: [auth()], fast: false, own },
      { name: 'GET with a query', method: 'GET', path: (who) => `${run(who)}?x=1`, headers: [auth()], fast: false, own },
      { name: 'GET with a body', method: 'GET', path: run, headers: [auth(), jsonType], body: '{}', fast: false, own },
      { name: 'GET without a key', method: 'GET', path: run, headers: [], fast: false, own },
      { name: 'HEAD the run', method: 'HEAD', path: run, headers: [auth()], fast: false, own },
    ]
    for (const c of cases) await sameBothWays(c)
    for (const who of ['plain', 'fast'] as const) await api.services.runs.cancel('alpha', threads[who], runIds[who])
    const ended = await sameBothWays({ name: 'GET a cancelled run', method: 'GET', path: run, headers: [auth()], fast: true, own })
    expect(ended.headers).not.toContain('openai-poll-after-ms')
  })
})

describe('fast path: GET /v1/threads/{id}/messages answers as the generic path', () => {
  it('the first page, refusals, and what it leaves alone', async () => {
    const withMessages = (
      await api.stores.threads.create('alpha', {
        messages: [
          { role: 'user', content: 'one' },
          { role: 'assistant', content: 'two' },
        ],
      })
    ).thread.id
    const messages = `/v1/threads/${withMessages}/messages`
    const cases: Case[] = [
      { name: 'list', method: 'GET', path: messages, headers: [auth()], fast: true },
      { name: 'list an empty thread', method: 'GET', path: `/v1/threads/${threadId}/messages`, headers: [auth()], fast: true },
      { name: 'list, another project', method: 'GET', path: messages, headers: [auth(KEY_BETA)], fast: true },
      { name: 'list no such thread', method: 'GET', path: '/v1/threads/thread_nope/messages', headers: [auth()], fast: true },
      { name: 'list with a query', method: 'GET', path: `${messages}?limit=1&order=asc`, headers: [auth()], fast: false },
      { name: 'list with a bad query', method: 'GET', path: `${messages}?limit=0`, headers: [auth()], fast: false },
      { name: 'list an id no object can have', method: 'GET', path: '/v1/threads/thread:x/messages', headers: [auth()], fast: false },
      { name: 'list without a key', method: 'GET', path: messages, headers: [], fast: false },
    ]
    for (const c of cases) await sameBothWays(c)
    expect((await sameBothWays(cases[0]!)).body).toContain('"two"')
  })
})
