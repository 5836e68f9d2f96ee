import { EventEmitter } from 'node:events'
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { type Plan, applyToolPolicy, defaultReply, echoText, maxTokensOf, planQuirky, planStandard, promptTokens, randomId } from './fake-upstream-plan.js'
import { openAIError, openAIErrorBody } from './fake-upstream-errors.js'
import { type EmbeddingErrorReply, type RecordedEmbeddingRequest, embeddingsResponse } from './fake-embeddings.js'
import type { FakeUpstream, FakeUpstreamOptions, FakeUsage, Overlap, RecordedRequest, Reply, ReplyHandler } from './fake-upstream-types.js'

/** Epoch ms with sub-ms precision, so a benchmark can compare it with another process's clock. */
const now = (): number => performance.timeOrigin + performance.now()

const FINGERPRINT = 'fp_threadwork_fake'

/**
 * Sleeps unless `ms` ≤ 0; false when the request went away meanwhile. A bare unref'd timer, not
 * `timers/promises` with the signal: that costs an abort listener per chunk, and an aborted
 * stream just stops at its next wake-up.
 */
async function pause(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (ms && ms > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, ms).unref())
  return !signal.aborted
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value)

/** Per request: the recording, the response, and an abort signal fired when the connection closes. */
interface Exchange {
  rec: RecordedRequest
  res: ServerResponse
  signal: AbortSignal
  body: ChatCompletionCreateParams
}

class FakeUpstreamServer implements FakeUpstream {
  readonly requests: RecordedRequest[] = []
  readonly overlaps: Overlap[] = []
  readonly embeddingRequests: RecordedEmbeddingRequest[] = []
  inFlight = 0
  maxInFlight = 0
  maxInFlightPerThread = 0
  baseURL = ''
  port = 0

  private handler: ReplyHandler
  private readonly once: (Reply | ReplyHandler)[] = []
  private readonly embeddingsOnce: EmbeddingErrorReply[] = []
  private readonly perThread = new Map<string, Set<RecordedRequest>>()
  private readonly events = new EventEmitter().setMaxListeners(0)
  private readonly created = Math.floor(Date.now() / 1000)

  constructor(
    private readonly server: Server,
    private readonly options: FakeUpstreamOptions,
  ) {
    this.handler = options.handler ?? defaultReply
  }

  respond(handler: ReplyHandler): void {
    this.handler = handler
  }

  respondOnce(...replies: (Reply | ReplyHandler)[]): void {
    this.once.push(...replies)
  }

  respondEmbeddingsOnce(...replies: EmbeddingErrorReply[]): void {
    this.embeddingsOnce.push(...replies)
  }

  waitForRequests(n: number, timeoutMs = 30_000): Promise<RecordedRequest[]> {
    if (this.requests.length >= n) return Promise.resolve([...this.requests])
    return new Promise((resolve, reject) => {
      const onRequest = () => {
        if (this.requests.length < n) return
        cleanup()
        resolve([...this.requests])
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`fake upstream: expected ${n} requests within ${timeoutMs} ms, got ${this.requests.length}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        this.events.off('request', onRequest)
      }
      this.events.on('request', onRequest)
    })
  }

  reset(): void {
    this.requests.length = 0
    this.overlaps.length = 0
    this.once.length = 0
    this.embeddingRequests.length = 0
    this.embeddingsOnce.length = 0
    this.handler = this.options.handler ?? defaultReply
    // In-flight requests keep counting; the maxima restart from what is open now.
    this.maxInFlight = this.inFlight
    this.maxInFlightPerThread = Math.max(0, ...[...this.perThread.values()].map((s) => s.size))
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())))
    this.server.closeAllConnections()
    await closed
  }

  /** Entry point for every HTTP request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-request-id', randomId('req_', 24))
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const models = this.options.models ?? ['fake-model', 'gpt-4o-mini']
    const model = (id: string) => ({ id, object: 'model', created: this.created, owned_by: 'threadwork-fake' })

    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, { object: 'list', data: models.map(model) })
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length))
      if (models.includes(id)) return sendJson(res, 200, model(id))
      return sendJson(res, 404, openAIErrorBody(404, id))
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return this.chat(req, res)
    if (req.method === 'POST' && path === '/v1/embeddings') return this.embeddings(req, res)
    sendJson(res, 404, openAIError(`Invalid URL (${req.method} ${path})`))
  }

  private async chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = now()
    let body: ChatCompletionCreateParams
    try {
      const parts: Buffer[] = []
      for await (const part of req) parts.push(part as Buffer)
      const raw = Buffer.concat(parts).toString('utf8')
      body = JSON.parse(raw) as ChatCompletionCreateParams
      if (typeof body !== 'object' || body === null) throw new Error('not an object')
    } catch {
      const message = 'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.'
      return sendJson(res, 400, openAIError(message))
    }

    const rec: RecordedRequest = {
      seq: this.requests.length,
      body,
      headers: req.headers,
      threadId: header(req.headers['x-threadwork-thread']),
      runId: header(req.headers['x-threadwork-run']),
      completionId: randomId('chatcmpl-', 29),
      startedAt,
      aborted: false,
      outcome: 'pending',
    }
    const controller = new AbortController()
    this.track(rec, res, controller)
    this.requests.push(rec)
    this.events.emit('request', rec)

    const ex: Exchange = { rec, res, signal: controller.signal, body }
    const missing = !Array.isArray(body.messages) ? 'messages' : typeof body.model !== 'string' ? 'model' : undefined
    if (missing) return this.fail(ex, 400, openAIError(`Missing required parameter: '${missing}'.`, { param: missing }))

    let reply: Reply
    try {
      const next = this.once.shift() ?? this.handler
      reply = applyToolPolicy(typeof next === 'function' ? await next(rec) : next, body)
    } catch (err) {
      rec.handlerError = err instanceof Error ? err.message : String(err)
      const message = `fake upstream handler threw: ${rec.handlerError}`
      return this.fail(ex, 500, openAIError(message, { type: 'server_error' }))
    }
    rec.reply = reply
    await this.play(ex, reply)
  }

  /** `POST /v1/embeddings`: hashed bag-of-words vectors, or `instant` ones (fake-embeddings.ts), or a scripted error. */
  private async embeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = now()
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    let body: RecordedEmbeddingRequest['body']
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8')) as RecordedEmbeddingRequest['body']
      if (typeof body !== 'object' || body === null) throw new Error('not an object')
    } catch {
      return sendJson(res, 400, openAIError('We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.'))
    }
    const inputs = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input.length : 1
    const rec: RecordedEmbeddingRequest = { seq: this.embeddingRequests.length, body, headers: req.headers, inputs, startedAt, status: 200 }
    this.embeddingRequests.push(rec)
    const scripted = this.embeddingsOnce.shift()
    if (scripted?.delayMs) await new Promise((r) => setTimeout(r, scripted.delayMs).unref())
    // A 200 without a body is the normal answer (only delayed); any other status, or a body, is sent as scripted.
    if (scripted && (scripted.status !== 200 || scripted.body !== undefined)) {
      rec.status = scripted.status
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers })
      return void res.end(JSON.stringify(scripted.body ?? openAIErrorBody(scripted.status, String(body.model))))
    }
    const answer = embeddingsResponse(body, this.options.embeddings)
    rec.status = answer.status
    sendJson(res, answer.status, answer.body)
  }

  /** Counts the request in flight until its connection closes; records overlaps and aborts. */
  private track(rec: RecordedRequest, res: ServerResponse, controller: AbortController): void {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    const threadId = rec.threadId
    if (threadId !== undefined) {
      const open = this.perThread.get(threadId) ?? new Set()
      for (const a of open) this.overlaps.push({ threadId, a, b: rec })
      open.add(rec)
      this.perThread.set(threadId, open)
      this.maxInFlightPerThread = Math.max(this.maxInFlightPerThread, open.size)
    }
    res.once('close', () => {
      this.inFlight--
      if (threadId !== undefined) {
        const open = this.perThread.get(threadId)
        open?.delete(rec)
        if (open?.size === 0) this.perThread.delete(threadId)
      }
      rec.endedAt = now()
      if (rec.outcome === 'pending') {
        rec.aborted = !res.writableFinished
        rec.outcome = rec.aborted ? 'aborted' : 'completed'
      }
      controller.abort()
    })
  }

  private fail(ex: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
    ex.rec.outcome = 'error'
    if (typeof body === 'string') {
      ex.res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body)
    } else {
      ex.res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
  }

  private async play(ex: Exchange, reply: Reply): Promise<void> {
    if (ex.signal.aborted) return
    const stream = ex.body.stream === true
    switch (reply.kind) {
      case 'error':
        return this.fail(ex, reply.status, reply.body ?? openAIErrorBody(reply.status, ex.body.model), reply.headers)
      case 'hang':
      case 'reset': {
        const after = stream ? (reply.afterChunks ?? 0) : 0
        if (after > 0) {
          const plan = planStandard({ kind: 'text', text: reply.text ?? echoText(ex.body) }, undefined)
          await this.stream(ex, plan, undefined, { limit: after })
        }
        if (reply.kind === 'reset' && !ex.signal.aborted) {
          ex.rec.outcome = 'reset'
          ex.res.socket?.resetAndDestroy()
        }
        return // a hang simply never ends the response
      }
      case 'cut':
        return this.cut(ex, reply.afterChunks ?? 0, reply.text)
      case 'text':
      case 'tool_calls':
      case 'quirky_tool_calls': {
        const plan =
          reply.kind !== 'quirky_tool_calls'
            ? planStandard(reply, maxTokensOf(ex.body))
            : stream
              ? planQuirky(reply)
              : planStandard({ kind: 'tool_calls', calls: reply.calls }, undefined)
        if (stream) return this.stream(ex, plan, reply.usage, { first: reply.firstTokenDelayMs, inter: reply.interChunkDelayMs })
        return this.json(ex, plan, reply.usage, reply.firstTokenDelayMs, reply.interChunkDelayMs)
      }
    }
  }

  /** {@link CutReply}: some chunks, then a clean end with no finish_reason and no `[DONE]`. */
  private async cut(ex: Exchange, afterChunks: number, text: string | undefined): Promise<void> {
    if (ex.body.stream !== true) {
      ex.res.writeHead(200, { 'content-type': 'application/json' }).end()
      return
    }
    const plan = planStandard({ kind: 'text', text: text ?? echoText(ex.body) }, undefined)
    await this.stream(ex, plan, undefined, { limit: afterChunks })
    if (!ex.signal.aborted) ex.res.end()
  }

  private usage(ex: Exchange, plan: Plan, spec: FakeUsage | undefined) {
    if (spec === 'none') return undefined
    const prompt_tokens = spec?.prompt_tokens ?? promptTokens(ex.body)
    const completion_tokens = spec?.completion_tokens ?? plan.completionTokens
    return {
      prompt_tokens,
      completion_tokens,
      total_tokens: prompt_tokens + completion_tokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    }
  }

  private async json(ex: Exchange, plan: Plan, usage: FakeUsage | undefined, first = 0, inter = 0): Promise<void> {
    if (!(await pause(first + inter * Math.max(0, plan.batches.length - 1), ex.signal))) return
    const message = { role: 'assistant', ...plan.message, refusal: null, annotations: [] }
    const usageBody = this.usage(ex, plan, usage)
    ex.rec.firstChunkAt = now()
    sendJson(ex.res, 200, {
      id: ex.rec.completionId,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: ex.body.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason }],
      ...(usageBody ? { usage: usageBody } : {}),
      system_fingerprint: FINGERPRINT,
    })
  }

  /**
   * Writes the plan as OpenAI SSE: `data: <chunk>\n\n` per chunk, the finish chunk, the usage
   * chunk (`choices: []`) when asked for, then `data: [DONE]\n\n`. With `limit`, stops after that
   * many batches without finishing (for hang and reset).
   */
  private async stream(ex: Exchange, plan: Plan, usage: FakeUsage | undefined, pacing: { first?: number; inter?: number; limit?: number }): Promise<void> {
    const { rec, res, signal, body } = ex
    const includeUsage = usage !== 'none' && body.stream_options?.include_usage === true
    const created = Math.floor(Date.now() / 1000)
    // Only the delta is serialised per chunk; the envelope is built once (2,000 streams × tens
    // of chunks each make this the hot path). Same keys, same order as a stringified object.
    const head =
      `data: {"id":"${rec.completionId}","object":"chat.completion.chunk","created":${created},` +
      `"model":${JSON.stringify(body.model)},"system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"delta":`
    const suffix = includeUsage ? ',"usage":null}\n\n' : '}\n\n'
    const chunk = (delta: unknown, finish_reason: string | null) =>
      `${head}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${JSON.stringify(finish_reason)}}]${suffix}`

    // Headers go out at once, as OpenAI's do: the SDK's `create({stream: true})` resolves on them.
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    res.flushHeaders()

    if (pacing.limit !== undefined) {
      // Partial stream for hang and reset: each write is awaited so it reaches the client first.
      for (const batch of plan.batches.slice(0, pacing.limit)) {
        if (signal.aborted) return
        await new Promise<void>((resolve) => res.write(batch.map((delta) => chunk(delta, null)).join(''), () => resolve()))
        rec.firstChunkAt ??= now()
      }
      return
    }
    for (const [i, batch] of plan.batches.entries()) {
      if (!(await pause(i === 0 ? pacing.first : pacing.inter, signal))) return
      res.write(batch.map((delta) => chunk(delta, null)).join(''))
      rec.firstChunkAt ??= now()
    }

    let tail = chunk(plan.finishDelta, plan.finishReason)
    if (includeUsage) {
      tail += `data: ${JSON.stringify({
        id: rec.completionId,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        system_fingerprint: FINGERPRINT,
        choices: [],
        usage: this.usage(ex, plan, usage),
      })}\n\n`
    }
    res.end(`${tail}data: [DONE]\n\n`)
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/**
 * Starts the fake OpenAI-compatible upstream on 127.0.0.1 (random port): `POST
 * /v1/chat/completions` (stream and non-stream), `GET /v1/models`, `GET /v1/models/{id}`.
 * Replies are scripted with `respond`/`respondOnce` (see {@link Reply}); unscripted requests get
 * {@link defaultReply}. Close it in `afterAll`/`onTestFinished`.
 */
export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const server = createServer({
    // Node 20 answers 408 to a request whose headers take over 60 s (headersTimeout) or whose
    // whole request takes over 300 s (requestTimeout). A test server guards against no slow
    // client, and a benchmark holding 2,000 long streams must not meet either limit: both off.
    requestTimeout: 0,
    headersTimeout: 0,
    keepAlive: true,
    // Idle pooled connections live 30 s (Node's default is 5 s) so a benchmark's bursts reuse
    // them instead of re-dialling; undici reads the `Keep-Alive: timeout` hint and closes first.
    keepAliveTimeout: 30_000,
  })
  // Unlimited (the default, stated so nobody lowers it): overflow would be silently dropped sockets.
  server.maxConnections = Number.POSITIVE_INFINITY
  const upstream = new FakeUpstreamServer(server, options)
  server.on('request', (req, res) => {
    upstream.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, openAIError(`fake upstream crashed: ${String(err)}`, { type: 'server_error' }))
      else res.destroy()
    })
  })
  // A burst of 2,000 connects would overflow the default backlog of 511 and stall in SYN retries.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  upstream.port = port
  upstream.baseURL = `http://127.0.0.1:${port}/v1`
  return upstream
}
