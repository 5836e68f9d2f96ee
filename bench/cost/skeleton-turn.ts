/**
 * The floor under a turn's cost: a skeleton that does only a turn's unavoidable work, with the same
 * libraries and the same wire, in three child processes of its own (so their CPU is read from /proc
 * like the services'):
 * - `api`: a `node:http` server; a POST's JSON body parsed, a `thread.turn` object stored and a
 *   wake-up appended (one MULTI), the turn answered 202.
 * - `worker`: a consumer-group reader of the wake-ups; per turn the turn read (GET), one streamed
 *   chat completion through the `openai` package, then the turn, the assistant message and an outbox
 *   event stored and the wake-up acknowledged (one MULTI).
 * - `webhooks`: a consumer-group reader of the outbox; per event one POST (undici `request` on a
 *   keep-alive Agent) signed with `standardwebhooks` (the project's secret), then a delivery record and the acknowledgement (one MULTI).
 *
 * Nothing else: no validation, authentication, idempotency, per-thread order, fencing, retries,
 * crash recovery, SSRF guard, logs or metrics. It is what Node, ioredis, the openai SDK and
 * three HTTP exchanges cost on this machine, so the cost bench can show how much of a turn is
 * Threadwork's own work. Never used by the product.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { Agent, request } from 'undici'

export type SkeletonRole = 'api' | 'worker' | 'webhooks'

export interface SkeletonProcess {
  pid: number
  /** The api role's base URL (`http://127.0.0.1:<port>`); empty for the others. */
  baseURL: string
  close(): Promise<void>
}

export interface SkeletonSettings {
  redisUrl: string
  /** Key prefix, so the skeleton's keys stay apart from the services'. */
  prefix: string
  /** The fake upstream's `/v1` base URL. */
  upstreamBaseURL: string
  /** The `whsec_…` secret the receiver verifies with. */
  signingSecret: string
}

/** Forks one role and resolves once it is ready (the api: listening). */
export async function forkSkeleton(role: SkeletonRole, settings: SkeletonSettings): Promise<SkeletonProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--skeleton', role, JSON.stringify(settings)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`skeleton ${role} exited (${code}) before it was ready`)))
    child.once('message', (m: { ready: number }) => resolve(m.ready))
  })
  return {
    pid: child.pid ?? -1,
    baseURL: port ? `http://127.0.0.1:${port}` : '',
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

const WAKE = 'wake'
const OUTBOX = 'outbox'

async function ensureGroup(redis: Redis, stream: string): Promise<void> {
  await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM').catch((err: Error) => {
    if (!err.message.includes('BUSYGROUP')) throw err
  })
}

/** Reads a consumer group forever, handing each entry's first field value to `handle` (not awaited: entries run concurrently). */
async function consume(redis: Redis, stream: string, handle: (entryId: string, value: string) => Promise<void>): Promise<never> {
  for (;;) {
    const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 200, 'BLOCK', 1000, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null
    for (const [, entries] of reply ?? []) {
      for (const [entryId, fields] of entries) handle(entryId, fields[1]!).catch((err) => console.error(`skeleton ${stream}:`, err))
    }
  }
}

async function runApi(s: SkeletonSettings, redis: Redis): Promise<number> {
  let n = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { content: string; callback_url: string }
      const threadId = req.url!.split('/')[3]!
      const turn = {
        id: `turn_${process.pid}_${++n}`,
        object: 'thread.turn',
        thread_id: threadId,
        status: 'queued',
        created_at: Math.floor(Date.now() / 1000),
        content: body.content,
        callback_url: body.callback_url,
      }
      const json = JSON.stringify(turn)
      redis
        .multi()
        .set(`${s.prefix}:turn:${turn.id}`, json)
        .xadd(`${s.prefix}:${WAKE}`, '*', 'turn', turn.id)
        .exec()
        .then(() => res.writeHead(202, { 'content-type': 'application/json' }).end(json))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as AddressInfo).port
}

async function runWorker(s: SkeletonSettings, redis: Redis): Promise<void> {
  const openai = new OpenAI({ baseURL: s.upstreamBaseURL, apiKey: 'x', maxRetries: 0 })
  const wake = `${s.prefix}:${WAKE}`
  await ensureGroup(redis, wake)
  const reader = redis.duplicate()
  void consume(reader, wake, async (entryId, turnId) => {
    const turn = JSON.parse((await redis.get(`${s.prefix}:turn:${turnId}`))!) as { id: string; content: string; thread_id: string }
    let text = ''
    const stream = await openai.chat.completions.create({ model: 'fake-model', stream: true, messages: [{ role: 'user', content: turn.content }] })
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    const message = {
      id: `msg_${turnId}`,
      object: 'thread.message',
      thread_id: turn.thread_id,
      role: 'assistant',
      content: [{ type: 'text', text: { value: text, annotations: [] } }],
    }
    const done = JSON.stringify({ ...turn, status: 'completed' })
    await redis
      .multi()
      .set(`${s.prefix}:turn:${turnId}`, done)
      .set(`${s.prefix}:message:${message.id}`, JSON.stringify(message))
      .xadd(`${s.prefix}:${OUTBOX}`, '*', 'event', JSON.stringify({ type: 'thread.turn.completed', data: { turn: JSON.parse(done), message } }))
      .xack(wake, 'g', entryId)
      .exec()
  })
}

async function runWebhooks(s: SkeletonSettings, redis: Redis): Promise<void> {
  const signer = new Webhook(s.signingSecret)
  const agent = new Agent({ keepAliveTimeout: 30_000 })
  const outbox = `${s.prefix}:${OUTBOX}`
  await ensureGroup(redis, outbox)
  const reader = redis.duplicate()
  void consume(reader, outbox, async (entryId, eventJson) => {
    const event = JSON.parse(eventJson) as { data: { turn: { callback_url: string } } }
    const webhookId = `msg_${entryId}`
    const at = new Date()
    const res = await request(event.data.turn.callback_url, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(webhookId, at, eventJson),
      },
      body: eventJson,
    })
    await res.body.dump()
    await redis.multi().set(`${s.prefix}:delivery:${webhookId}`, String(res.statusCode)).xack(outbox, 'g', entryId).exec()
  })
}

if (process.argv.includes('--skeleton') && process.send) {
  const [role, json] = process.argv.slice(process.argv.indexOf('--skeleton') + 1) as [SkeletonRole, string]
  const settings = JSON.parse(json) as SkeletonSettings
  const redis = new Redis(settings.redisUrl)
  const ready =
    role === 'api'
      ? await runApi(settings, redis)
      : role === 'worker'
        ? await runWorker(settings, redis).then(() => 0)
        : await runWebhooks(settings, redis).then(() => 0)
  process.send({ ready })
  process.on('SIGTERM', () => process.exit(0))
}
