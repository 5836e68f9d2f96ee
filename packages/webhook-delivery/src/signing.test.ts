import OpenAI from 'openai'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { buildWebhookHeaders, generateSigningSecret, secretHint, signPayload } from './index.js'

// The envelope mirrors OpenAI's (research §4.4); the type is ours, not one the SDK knows.
const body = JSON.stringify({
  id: 'evt_0123456789abcdefghijklmn',
  object: 'event',
  created_at: 1_760_000_000,
  type: 'thread.run.completed',
  data: { id: 'run_abc', note: 'ünïcødé ✓' },
})
const msgId = 'evt_0123456789abcdefghijklmn'

describe('generateSigningSecret', () => {
  it('is whsec_ + base64 of 32 random bytes', () => {
    const secret = generateSigningSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32)
    expect(generateSigningSecret()).not.toBe(secret)
  })
})

describe('secretHint', () => {
  it('shows both ends, never the secret', () => {
    const secret = generateSigningSecret()
    const hint = secretHint(secret)
    const raw = secret.slice(6).replace(/=+$/, '')
    expect(hint).toBe(`whsec_${raw.slice(0, 3)}…${raw.slice(-3)}`)
    expect(hint).not.toContain(raw.slice(0, 6))
  })
  it('hides short strings entirely', () => {
    expect(secretHint('whsec_abc')).toBe('whsec_…')
  })
})

describe('signPayload', () => {
  it('matches the standardwebhooks reference signer', () => {
    const secret = generateSigningSecret()
    const timestamp = new Date()
    expect(signPayload({ secret, msgId, timestamp, body })).toBe(new Webhook(secret).sign(msgId, timestamp, body))
  })
  it('rejects secrets verifiers would read differently, and ids containing the separator', () => {
    const timestamp = new Date()
    expect(() => signPayload({ secret: 'not-prefixed', msgId, timestamp, body })).toThrow(/whsec_/)
    expect(() => signPayload({ secret: 'whsec_@@@@', msgId, timestamp, body })).toThrow(/base64/)
    expect(() => signPayload({ secret: 'whsec_c2hvcnQ=', msgId, timestamp, body })).toThrow(/bytes/)
    expect(() => signPayload({ secret: generateSigningSecret(), msgId: 'a.b', timestamp, body })).toThrow(/msgId/)
  })
})

describe('buildWebhookHeaders', () => {
  it('emits the Standard Webhooks headers', () => {
    const secret = generateSigningSecret()
    const timestamp = new Date('2026-01-02T03:04:05.678Z')
    expect(buildWebhookHeaders({ secrets: [secret], msgId, timestamp, body })).toEqual({
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signPayload({ secret, msgId, timestamp, body }),
      'content-type': 'application/json',
      'user-agent': 'Threadwork-Webhooks/1',
    })
  })

  it('is accepted by standardwebhooks and by openai webhooks.unwrap', async () => {
    const secret = generateSigningSecret()
    const headers = buildWebhookHeaders({ secrets: [secret], msgId, timestamp: new Date(), body })

    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
    const client = new OpenAI({ apiKey: 'x', webhookSecret: secret })
    // unwrap only verifies and JSON.parses: an event type the SDK does not know passes through.
    expect(await client.webhooks.unwrap(body, headers)).toEqual(JSON.parse(body))
  })

  it('signs with every secret during rotation; either one verifies', async () => {
    const current = generateSigningSecret()
    const previous = generateSigningSecret()
    const headers = buildWebhookHeaders({ secrets: [current, previous], msgId, timestamp: new Date(), body })
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2)

    for (const secret of [current, previous]) {
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
      await expect(new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(body, headers)).resolves.toBeTruthy()
    }
    const stranger = generateSigningSecret()
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow()
    await expect(new OpenAI({ apiKey: 'x', webhookSecret: stranger }).webhooks.unwrap(body, headers)).rejects.toThrow()
  })

  it('fails verification for a tampered body, in both libraries', async () => {
    const secret = generateSigningSecret()
    const headers = buildWebhookHeaders({ secrets: [secret], msgId, timestamp: new Date(), body })
    const tampered = body.replace('run_abc', 'run_abd')

    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow(/signature/i)
    await expect(new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(tampered, headers)).rejects.toBeInstanceOf(
      OpenAI.InvalidWebhookSignatureError,
    )
  })

  it('fails verification outside the 5-minute tolerance, in both libraries', async () => {
    const secret = generateSigningSecret()
    const headers = buildWebhookHeaders({ secrets: [secret], msgId, timestamp: new Date(Date.now() - 10 * 60_000), body })

    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/too old/)
    await expect(new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(body, headers)).rejects.toThrow(/too old/)
  })

  it('requires a secret', () => {
    expect(() => buildWebhookHeaders({ secrets: [], msgId, timestamp: new Date(), body })).toThrow()
  })
})
