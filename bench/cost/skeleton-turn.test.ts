/**
 * The cost bench's floor (skeleton-turn.ts) does a turn's work for real: a turn POSTed to its api
 * comes back to a receiver as a signed callback carrying the model's streamed reply.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRedisFixture, startFakeUpstream } from '@threadwork/test-utils'
import { Webhook } from 'standardwebhooks'
import { expect, it, onTestFinished } from 'vitest'
import { forkSkeleton } from './skeleton-turn.js'

it('delivers a signed callback with the streamed reply for a POSTed turn', async () => {
  const fx = await createRedisFixture('skeleton')
  onTestFinished(() => fx.cleanup())
  const upstream = await startFakeUpstream()
  onTestFinished(() => upstream.close())
  upstream.respond(() => ({ kind: 'text', text: 'floor reply' }))
  const secret = `whsec_${Buffer.from('skeleton-test-secret-0123456789ab').toString('base64')}`
  type Delivered = { turn: { id: string }; message: { content: [{ text: { value: string } }] } }
  let deliver: (data: Delivered) => void = () => {}
  let refuse: (err: unknown) => void = () => {}
  const received = new Promise<Delivered>((resolve, reject) => {
    deliver = resolve
    refuse = reject
  })
  const server = createServer((req, res) => {
    let body = ''
    req
      .on('data', (c) => (body += c))
      .on('end', () => {
        res.writeHead(204).end()
        try {
          deliver((new Webhook(secret).verify(body, req.headers as Record<string, string>) as { data: Delivered }).data)
        } catch (err) {
          refuse(err)
        }
      })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())))
  const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const settings = { redisUrl: fx.url, prefix: fx.prefix, upstreamBaseURL: upstream.baseURL, signingSecret: secret }
  const roles = await Promise.all((['api', 'worker', 'webhooks'] as const).map((role) => forkSkeleton(role, settings)))
  onTestFinished(() => Promise.all(roles.map((r) => r.close())).then(() => undefined))
  const res = await fetch(`${roles[0]!.baseURL}/v1/threads/thread_a/turns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'hi', callback_url: callbackUrl }),
  })
  expect(res.status).toBe(202)
  const turn = (await res.json()) as { id: string }
  const event = await received
  expect(event.turn.id).toBe(turn.id)
  expect(event.message.content[0].text.value).toBe('floor reply')
})
