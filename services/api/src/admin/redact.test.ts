import { describe, expect, it } from 'vitest'
import { REDACTED, redactJobData } from './redact.js'

describe('redactJobData', () => {
  it('keeps ids, numbers and flags: what our job payloads hold', () => {
    const data = { threadId: 'thread_abc123', runId: 'run_XYZ', shard: 3, entryId: '1718-0', target: 'whe_1', tries: 2, retryAt: null, trigger: 'event' }
    expect(redactJobData(data)).toEqual(data)
  })

  it('masks content, secrets and long or free-form strings', () => {
    const out = redactJobData({
      threadId: 'thread_1',
      content: 'hello there',
      messages: [{ role: 'user', content: 'secret plan' }],
      apiKey: 'sk-live-123',
      headers: { authorization: 'Bearer x' },
      note: 'a sentence with spaces',
      blob: 'x'.repeat(200),
      url: 'https://example.com/hook',
      messageId: 'msg_1',
      other: 'sk-live-abc',
    }) as Record<string, unknown>
    expect(out).toEqual({
      threadId: 'thread_1',
      content: REDACTED,
      messages: REDACTED,
      apiKey: REDACTED,
      headers: REDACTED,
      note: REDACTED,
      blob: REDACTED,
      url: REDACTED,
      messageId: 'msg_1',
      other: REDACTED,
    })
  })
})
