import { APIError } from 'openai'
import { Stream } from 'openai/core/streaming'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChatSSEParser, readChatCompletionSSE } from './sse-parser.js'
import { startChatServer } from './test-support/chat-server.js'
import { createUpstreamFetch, rawBodyOf } from './upstream-fetch.js'

/**
 * Every case is run through the SDK's own `Stream.fromSSEResponse` and through ChatSSEParser on
 * the same bytes, split at every point (and byte by byte), and once more with the body failing
 * after each chunk: the items delivered, and the error, must be the same.
 */

const enc = new TextEncoder()
const headers = new Headers({ 'x-request-id': 'req_123' })

type Outcome = { items: unknown[]; error: unknown }

/** A plain view of an error for comparison (class, message and the APIError fields). */
const errorView = (e: unknown) =>
  e === undefined
    ? undefined
    : e instanceof APIError
      ? { class: 'APIError', message: e.message, status: e.status, error: e.error, code: e.code, type: e.type, requestID: e.requestID }
      : { class: (e as Error).constructor.name, message: (e as Error).message }

const bodyOf = (chunks: Uint8Array[], failAfter: boolean) => {
  let i = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (i < chunks.length) c.enqueue(chunks[i++]!)
        else if (failAfter) c.error(new TypeError('terminated'))
        else c.close()
      },
    },
    { highWaterMark: 0 },
  )
}

async function viaSDK(chunks: Uint8Array[], failAfter: boolean): Promise<Outcome> {
  const items: unknown[] = []
  const stream = Stream.fromSSEResponse<unknown>(new Response(bodyOf(chunks, failAfter), { headers }), new AbortController())
  try {
    for await (const item of stream) items.push(item)
  } catch (error) {
    return { items, error: errorView(error) }
  }
  return { items, error: undefined }
}

function viaParser(chunks: Uint8Array[], failAfter: boolean): Outcome {
  const items: unknown[] = []
  const parser = new ChatSSEParser(headers, (item) => items.push(item))
  try {
    for (const c of chunks) parser.push(c)
    if (failAfter) throw new TypeError('terminated')
    parser.end()
  } catch (error) {
    return { items, error: errorView(error) }
  }
  return { items, error: undefined }
}

const chunk = (content: string) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })

const cases: Record<string, string> = {
  'LF events and [DONE]': `data: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\ndata: [DONE]\n\n`,
  'CRLF events': `data: ${chunk('a')}\r\n\r\ndata: ${chunk('b')}\r\n\r\ndata: [DONE]\r\n\r\n`,
  'CR-only events': `data: ${chunk('a')}\r\rdata: ${chunk('b')}\r\r`,
  'mixed line endings': `data: ${chunk('a')}\n\r\ndata: ${chunk('b')}\r\n\ndata: ${chunk('c')}\r\n\r\n`,
  'multi-line data': 'data: {"choices":\ndata: [{"index":0,\ndata:"delta":{"content":"x"}}]}\n\n',
  'comments, other fields, no space after colon': `: keep-alive\n\nid: 1\nretry: 10\n:comment\ndata:${chunk('y')}\nfoo\n\n`,
  'UTF-8 multi-byte content': `data: ${chunk('héllo → 世界 🙂')}\n\ndata: ${chunk('ö🙂')}\n\n`,
  'a BOM at a line start': `\uFEFFdata: ${chunk('bom')}\n\ndata: ${chunk('z')}\n\n`,
  'error payload after a chunk': `data: ${chunk('a')}\n\ndata: {"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}\n\ndata: ${chunk('never')}\n\n`,
  'error payload with an event name': `event: error\ndata: {"error":{"message":"boom"}}\n\n`,
  'thread.* event': `event: thread.message.delta\ndata: {"id":"m"}\n\ndata: ${chunk('t')}\n\n`,
  'events after [DONE] ignored': `data: ${chunk('a')}\n\ndata: [DONE]\n\ndata: not json\n\n`,
  'invalid JSON': `data: ${chunk('a')}\n\ndata: {"choices": [\n\n`,
  'body ends mid-event': `data: ${chunk('a')}\n\ndata: ${chunk('b')}`,
  'body ends after one newline': `data: ${chunk('a')}\n\ndata: ${chunk('b')}\n`,
  'body ends in a CR': `data: ${chunk('a')}\r`,
  'event with only an event field': 'event: ping\n\ndata: [DONE]\n\n',
  'extra blank lines': `\n\n\ndata: ${chunk('a')}\n\n\n\ndata: ${chunk('b')}\n\n`,
}

async function compare(bytes: Uint8Array, splits: number[][]) {
  for (const cuts of splits) {
    const chunks: Uint8Array[] = []
    let prev = 0
    for (const c of [...cuts, bytes.length]) {
      chunks.push(bytes.slice(prev, c))
      prev = c
    }
    // The whole body, then the body failing after each chunk (what was delivered before a reset).
    for (let k = chunks.length; k >= 1; k--) {
      const failAfter = k < chunks.length
      const part = chunks.slice(0, k)
      const sdk = await viaSDK(part, failAfter)
      expect({ cuts, k, ...viaParser(part, failAfter) }).toEqual({ cuts, k, ...sdk })
    }
  }
}

describe('ChatSSEParser against the SDK’s Stream on the same bytes', () => {
  afterEach(() => vi.restoreAllMocks())

  for (const [name, text] of Object.entries(cases)) {
    it(`${name}: every single split point and byte by byte`, async () => {
      // The SDK logs an unparsable payload before throwing it.
      vi.spyOn(console, 'error').mockImplementation(() => {})
      const bytes = enc.encode(text)
      const splits: number[][] = [[]]
      for (let i = 1; i < bytes.length; i++) splits.push([i])
      splits.push(Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))
      await compare(bytes, splits)
    })
  }

  it('the SDK and the parser agree on what a case yields (sanity: the comparison sees items and errors)', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const ok = viaParser([enc.encode(cases['LF events and [DONE]']!)], false)
    expect(ok.items.map((i) => (i as { choices: { delta: { content: string } }[] }).choices[0]!.delta.content)).toEqual(['Hel', 'lo'])
    const err = viaParser([enc.encode(cases['error payload after a chunk']!)], false)
    expect(err.items).toHaveLength(1)
    expect(err.error).toMatchObject({ class: 'APIError', message: 'Rate limit reached', status: undefined, code: 'rate_limit_exceeded', requestID: 'req_123' })
    expect(viaParser([enc.encode(cases['invalid JSON']!)], false).error).toMatchObject({ class: 'SyntaxError' })
  })
})

describe('readChatCompletionSSE over a web body', () => {
  it('delivers items and ends quietly when reading fails with an AbortError', async () => {
    const items: unknown[] = []
    const first = enc.encode(`data: ${chunk('a')}\n\n`)
    let sent = false
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (!sent) {
            sent = true
            c.enqueue(first)
          } else c.error(new DOMException('This operation was aborted', 'AbortError'))
        },
      },
      { highWaterMark: 0 },
    )
    await readChatCompletionSSE(new Response(body), (i) => items.push(i))
    expect(items).toHaveLength(1)
  })

  it('rethrows what the consumer threw, even an AbortError, and cancels the body', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`data: ${chunk('a')}\n\n`))
      },
      cancel() {
        cancelled = true
      },
    })
    const thrown = new DOMException('consumer', 'AbortError')
    await expect(
      readChatCompletionSSE(new Response(body), () => {
        throw thrown
      }),
    ).rejects.toBe(thrown)
    expect(cancelled).toBe(true)
  })
})

describe('readChatCompletionSSE over createUpstreamFetch', () => {
  it("reads undici's body directly: items arrive, the web body is never touched", async () => {
    const server = await startChatServer(() => ({ sse: [JSON.parse(chunk('a')), JSON.parse(chunk('b')), '[DONE]'] }))
    try {
      const response = await createUpstreamFetch()(`${server.baseURL}/chat/completions`, { method: 'POST', body: '{}' })
      const items: unknown[] = []
      await readChatCompletionSSE(response, (i) => items.push(i))
      expect(items.map((i) => (i as { choices: { delta: { content: string } }[] }).choices[0]!.delta.content)).toEqual(['a', 'b'])
      expect(response.bodyUsed).toBe(false)
      expect(rawBodyOf(response)).toBeUndefined()
    } finally {
      await server.close()
    }
  })
})
