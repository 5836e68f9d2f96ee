/**
 * A worker SIGKILLed in the middle of a streamed reply: the client's stream never hangs. Another
 * worker takes the run over and re-runs the round; the stream carries on coherently (what the
 * client already has is not sent twice) to the run's real outcome. With no worker left, the
 * stream ends with an `error` event after the idle timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack, textOf, words } from './runs-support.js'
import { ORDER, postStream, readSse, shape } from './streaming-support.js'

let stack: RunStack | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

/** Fails instead of hanging: the stream must end within `ms`. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms))])
}

describe('worker killed mid-stream', () => {
  it('another worker takes over: the stream goes on to completed, each word once', { timeout: 90_000 }, async () => {
    stack = await startRunStack({ workers: 0 })
    const first = await stack.startWorker()
    const { upstream, client } = stack
    const reply = words(40)
    // The first attempt trickles (so it can be killed mid-reply); the re-run answers the same at once.
    upstream.respond((req) => ({ kind: 'text', text: reply, interChunkDelayMs: req.seq === 0 ? 150 : 0 }))
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'go' }] })

    let deltas = 0
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistant.id, stream: true })
    const reading = readSse(res, {
      onEvent: (e) => {
        if (e.event !== 'thread.message.delta' || ++deltas !== 5) return
        first.kill('SIGKILL')
        void first.exited.then(() => stack!.startWorker())
      },
    })
    const events = await bounded(reading, 60_000, 'the stream') // includes a fresh worker's start-up: seconds on a loaded machine
    expect(shape(events)).toEqual([...ORDER.runOpens, ...ORDER.messageRound(), 'thread.run.completed', 'done'])
    const text = events
      .filter((e) => e.event === 'thread.message.delta')
      .map((e) => e.data.delta.content[0].text.value)
      .join('')
    expect(text).toBe(reply)
    expect(upstream.requests.length).toBe(2)
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data.filter((m) => m.role === 'assistant').map(textOf)).toEqual([reply])
  })

  it('a re-run that answers differently: the SDK ends with the stored message, not a mix', { timeout: 90_000 }, async () => {
    stack = await startRunStack({ workers: 0 })
    const first = await stack.startWorker()
    const { upstream, client } = stack
    upstream.respond((req) =>
      req.seq === 0 ? { kind: 'text', text: words(40, 'first'), interChunkDelayMs: 150 } : { kind: 'text', text: 'A different answer.' },
    )
    const assistant = await stack.assistant()
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'go' }] })
    let deltas = 0
    const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id }).on('textDelta', () => {
      if (++deltas !== 5) return
      first.kill('SIGKILL')
      void first.exited.then(() => stack!.startWorker())
    })
    const run = await bounded(stream.finalRun(), 60_000, 'the stream')
    expect(run.status).toBe('completed')
    expect((await stream.finalMessages()).map(textOf)).toEqual(['A different answer.'])
    const messages = await client.beta.threads.messages.list(thread.id)
    expect(messages.data.filter((m) => m.role === 'assistant').map(textOf)).toEqual(['A different answer.'])
  })

  it('no worker left: the stream ends with an error event after the idle timeout, and the SDK rejects', { timeout: 30_000 }, async () => {
    stack = await startRunStack({ workers: 0, api: { streaming: { idleTimeoutMs: 2_000, checkAfterMs: 500 } } })
    const only = await stack.startWorker()
    const { upstream, client } = stack
    upstream.respond(() => ({ kind: 'hang', afterChunks: 3 }))
    const assistant = await stack.assistant()

    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'go' }] })
    const res = await postStream(stack.api, `/threads/${thread.id}/runs`, { assistant_id: assistant.id, stream: true })
    const started = Date.now()
    const events = await bounded(readSse(res, { onEvent: (e) => e.event === 'thread.message.delta' && only.kill('SIGKILL') }), 15_000, 'the stream')
    expect(Date.now() - started).toBeLessThan(10_000)
    const last = events.at(-1)!
    expect(last.event).toBe('error')
    expect(last.data).toEqual({ code: 'stream_timeout', message: expect.stringContaining('No events for this run'), param: null, type: 'server_error' })
    expect(events.slice(0, 3).map((e) => e.event)).toEqual(ORDER.runOpens)

    // The SDK helper on such a stream rejects; it does not hang.
    const other = await client.beta.threads.create({ messages: [{ role: 'user', content: 'again' }] })
    await expect(bounded(client.beta.threads.runs.stream(other.id, { assistant_id: assistant.id }).finalRun(), 15_000, 'the SDK stream')).rejects.toThrow()
  })
})
