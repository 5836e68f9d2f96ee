import { CALLBACK_OWNER, createRedis } from '@threadwork/storage'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import type { Command } from 'ioredis'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { webhookHarness } from './test-harness.js'

/**
 * A dispatcher over the harness whose command connection records every command it sends
 * (`sent`), and a receiver that files, per delivered event id, the commands sent since the last
 * delivery (`sentBeforePost`). The project's callback secret exists before the start: its creation
 * would change the webhook version (a re-read, not what these tests look at).
 */
async function startRecordedDispatcher() {
  const h = await webhookHarness()
  await h.stores.webhookEndpoints.signingSecret.ensure(h.project)
  // The dispatcher's command connection, as the harness makes it.
  const redis = createRedis(h.fx.url, { role: 'worker', name: 'dispatcher', coalesceWrites: true })
  onTestFinished(() => redis.disconnect())
  const sent: string[][] = []
  const send = redis.sendCommand.bind(redis)
  redis.sendCommand = (command: Command, stream?: never) => {
    sent.push([command.name, ...command.args.map(String)])
    return send(command, stream)
  }
  const sentBeforePost = new Map<string, string[][]>()
  const receiver = await startReceiver((req, res) => {
    sentBeforePost.set((JSON.parse(req.body) as { id: string }).id, sent.splice(0))
    res.writeHead(200).end()
  })
  await h.start({ redis })
  return { h, k: h.stores.keys, sent, sentBeforePost, receiver }
}

describe('a callback read from a followed shard stream', () => {
  it('goes out with no command after its read: its FIFO check and webhook version came back with the entry', async () => {
    const { h, k, sent, sentBeforePost, receiver } = await startRecordedDispatcher()

    // The first one after the start (nothing read yet to start the checks from) checks after its read.
    const first = await h.emit({ type: 'thread.run.completed', thread: 'thread_1', callbackUrl: receiver.url(), nudge: false })
    await vi.waitFor(() => expect(sentBeforePost.has(first)).toBe(true), { timeout: 10_000 })
    sent.splice(0)
    const second = await h.emit({ type: 'thread.run.completed', thread: 'thread_2', callbackUrl: receiver.url(), nudge: false })
    await vi.waitFor(() => expect(sentBeforePost.has(second)).toBe(true), { timeout: 10_000 })

    const touched = (commands: string[][], key: string) => commands.filter((c) => c.includes(key)).map((c) => c[0])
    // Checked after the read, on this connection: the FIFO script and the version's GET (and the
    // snapshot's own, the endpoint cache being empty).
    expect(touched(sentBeforePost.get(first)!, k.webhookFifo(0, CALLBACK_OWNER, 'thread_1'))).toEqual(['evalsha'])
    expect(touched(sentBeforePost.get(first)!, k.webhookVersion(h.project))).toContain('get')
    // Sent behind the read on the follower's connection instead.
    expect(touched(sentBeforePost.get(second)!, k.webhookFifo(0, CALLBACK_OWNER, 'thread_2'))).toEqual([])
    expect(touched(sentBeforePost.get(second)!, k.webhookVersion(h.project))).toEqual([])
    expect(receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual([first, second])
  })

  it("takes a lone callback's slot behind the read too (none kept since the last one), and gives back one no attempt used", async () => {
    const { h, k, sent, sentBeforePost, receiver } = await startRecordedDispatcher()
    const slotsHeld = () => h.fx.redis.zcard(k.webhookInflightTarget(h.project, CALLBACK_OWNER))

    const first = await h.emit({ type: 'thread.run.completed', thread: 'thread_1', callbackUrl: receiver.url(), nudge: false })
    await vi.waitFor(() => expect(sentBeforePost.has(first)).toBe(true), { timeout: 10_000 })
    // Its slot kept 250 ms for the next callback, then given back.
    await vi.waitFor(async () => expect(await slotsHeld()).toBe(0), { timeout: 10_000 })
    sent.splice(0)
    const second = await h.emit({ type: 'thread.run.completed', thread: 'thread_2', callbackUrl: receiver.url(), nudge: false })
    await vi.waitFor(() => expect(sentBeforePost.has(second)).toBe(true), { timeout: 10_000 })
    const inflightKey = k.webhookInflightTarget(h.project, CALLBACK_OWNER)
    expect(sentBeforePost.get(second)!.filter((c) => c.includes(inflightKey)).map((c) => c[0])).toEqual([])
    await vi.waitFor(async () => expect(await slotsHeld()).toBe(0), { timeout: 10_000 })

    // A packed entry that only looks as if it had a callback (an object, then an http string, in
    // its data): the slot taken for it is given back after the linger, nothing sent.
    await h.emitCommit([{ type: 'thread.run.completed', data: { id: 'run_2', object: 'thread.run', list: [{}, 'http://x'] } }], { thread: 'thread_3' })
    await vi.waitFor(async () => expect(await slotsHeld()).toBe(1), { timeout: 10_000 })
    await vi.waitFor(async () => expect(await slotsHeld()).toBe(0), { timeout: 10_000 })
    expect(receiver.received.length).toBe(2)
  })
})
