/**
 * Webhook endpoints through the official SDK's own `client.webhooks` resource: create, retrieve,
 * update, list (auto-paginated), delete, rotateSecret, test and eventTypes.list. That resource
 * exists only in openai-node 7.x, whose `engines` asks for Node 22; it runs on Node 20 for these
 * calls, so it is installed for this test alone (`openai-v7`), beside the pinned 6.x every other
 * test uses. Test sends go through the real webhooks service to a real receiver and are verified
 * with the SDK's `webhooks.unwrap`, before and after a secret rotation.
 */
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ApiServer, type ServiceProcess, startApiServer, startServiceProcess } from '@threadwork/test-utils'
import OpenAI from 'openai-v7'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let api: ApiServer
let webhooks: ServiceProcess
let client: OpenAI
let receiver: Server
let hookUrl: string
const received: { body: string; headers: IncomingHttpHeaders }[] = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ body, headers: req.headers })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  api = await startApiServer()
  webhooks = await startServiceProcess('webhooks', { REDIS_PREFIX: api.prefix, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' }, { readyMessage: 'webhook dispatcher ready' })
  client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
}, 180_000)

afterAll(async () => {
  webhooks?.kill('SIGKILL')
  await api?.close()
  receiver?.close()
})

// The SDK's types list OpenAI's own event types; Threadwork's are strings on the same wire.
const ours = (...types: string[]) => types as never
const one = (type: string) => type as never

describe('client.webhooks (openai-node 7.x) against /v1/webhook_endpoints', () => {
  it('create → retrieve → update → list → delete, with the secret only on create', async () => {
    const created = await client.webhooks.create({ url: 'https://example.com/a', name: 'orders', event_types: ours('thread.run.completed') })
    expect(created).toMatchObject({ object: 'webhook_endpoint', url: 'https://example.com/a', name: 'orders', event_types: ['thread.run.completed'] })
    expect(created.id).toMatch(/^whe_/)
    expect(created.signing_secret).toMatch(/^whsec_/)
    expect(created.signing_secret_hint).toMatch(/^whsec_.+…/)

    const got = await client.webhooks.retrieve(created.id)
    expect(got).toMatchObject({ id: created.id, signing_secret_hint: created.signing_secret_hint })
    expect(got).not.toHaveProperty('signing_secret')

    const updated = await client.webhooks.update(created.id, { name: 'orders-v2', event_types: ours('thread.turn.completed', 'thread.turn.failed') })
    expect(updated).toMatchObject({ id: created.id, name: 'orders-v2', event_types: ['thread.turn.completed', 'thread.turn.failed'] })

    const more = await Promise.all([1, 2].map((i) => client.webhooks.create({ url: `https://example.com/${i}`, name: `n${i}`, event_types: ours('thread.run.failed') })))
    const seen: string[] = []
    for await (const e of client.webhooks.list({ limit: 1 })) seen.push(e.id)
    expect(new Set(seen)).toEqual(new Set([created.id, ...more.map((m) => m.id)]))
    expect(seen).toHaveLength(3)

    const deleted = await client.webhooks.delete(created.id)
    expect(deleted).toEqual({ id: created.id, object: 'webhook_endpoint.deleted', deleted: true })
    await expect(client.webhooks.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    for (const m of more) await client.webhooks.delete(m.id)
  })

  it('eventTypes.list names every Threadwork event', async () => {
    const list = await client.webhooks.eventTypes.list()
    expect(list.object).toBe('list')
    expect(list.data).toEqual(expect.arrayContaining(['thread.run.completed', 'thread.run.requires_action', 'thread.message.completed', 'thread.turn.completed']))
  })

  it('test sends a signed event that unwrap verifies, before and after rotateSecret', async () => {
    const endpoint = await client.webhooks.create({ url: hookUrl, name: 'local', event_types: ours('thread.run.completed') })
    // Answered at once; the receiver's answer lands in the endpoint's delivery log.
    const before = received.length
    const result = await client.webhooks.test(endpoint.id, { event_type: one('thread.run.completed') })
    expect(result).toMatchObject({ object: 'webhook_endpoint.test', webhook_endpoint_id: endpoint.id, event_type: 'thread.run.completed', status_code: null, success: true, status: 'queued' })
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(before + 1)
    const log = async () => (await (await fetch(`${api.baseURL}/webhook_endpoints/${endpoint.id}/deliveries`, { headers: { authorization: `Bearer ${api.apiKey}` } })).json()) as { data: { trigger: string; event_id: string; response_status_code: number }[] }
    await expect.poll(async () => (await log()).data[0], { timeout: 20_000 }).toMatchObject({ trigger: 'test', event_id: (result as unknown as { event_id: string }).event_id, response_status_code: 200 })
    const first = received.at(-1)!
    const event = await client.webhooks.unwrap(first.body, first.headers as Record<string, string>, endpoint.signing_secret)
    expect(event).toMatchObject({ object: 'event', type: 'thread.run.completed' })

    const rotated = await client.webhooks.rotateSecret(endpoint.id)
    expect(rotated.signing_secret).toMatch(/^whsec_/)
    expect(rotated.signing_secret).not.toBe(endpoint.signing_secret)
    await client.webhooks.test(endpoint.id, { event_type: one('thread.run.completed') })
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(before + 2)
    const second = received.at(-1)!
    await expect(client.webhooks.unwrap(second.body, second.headers as Record<string, string>, rotated.signing_secret)).resolves.toMatchObject({ type: 'thread.run.completed' })
    await expect(client.webhooks.unwrap(second.body, second.headers as Record<string, string>, endpoint.signing_secret)).rejects.toThrow()
  })

  it('bad input gets the SDK’s typed 400 with OpenAI’s body', async () => {
    const endpoint = await client.webhooks.create({ url: 'https://example.com/t', name: 't', event_types: ours('thread.run.completed') })
    const wrongType = await client.webhooks.test(endpoint.id, { event_type: ours('thread.run.completed') }).catch((e: unknown) => e)
    expect(wrongType).toBeInstanceOf(OpenAI.BadRequestError)
    expect((wrongType as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'event_type', code: 'invalid_type' })
    expect((wrongType as Error).message).toMatch(/Invalid type for 'event_type': expected one of .*, but got an array instead\./)

    const err = await client.webhooks.create({ url: 'not a url', name: 'x', event_types: ours('thread.run.completed') }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'url' })

    // Private and metadata targets: refused at registration, with the reason and the setting.
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/hook', `http://127.0.0.2:${new URL(hookUrl).port}/hook`]) {
      const refused = await client.webhooks.create({ url, name: 'x', event_types: ours('thread.run.completed') }).catch((e: unknown) => e)
      expect(refused, url).toBeInstanceOf(OpenAI.BadRequestError)
      expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'url', code: 'webhook_url_forbidden' })
      expect((refused as Error).message).toMatch(/cloud metadata|WEBHOOK_ALLOW_PRIVATE/)
    }
  })
})
