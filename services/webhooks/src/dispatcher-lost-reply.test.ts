import { type Socket, createConnection, createServer } from 'node:net'
import { createRedis } from '@threadwork/storage'
import type { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { webhookHarness } from './test-harness.js'

/**
 * A TCP proxy to Redis that can lose one reply: armed, it swallows the next bytes Redis sends
 * and cuts the connection (a network reset after Redis ran the command, before the client heard).
 */
async function lossyProxy(redisUrl: string) {
  const target = new URL(redisUrl)
  let armed = false
  let lost = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 6379) })
    sockets.add(client).add(upstream)
    const cut = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (b) => upstream.write(b))
    upstream.on('data', (b) => {
      if (armed) {
        armed = false
        lost++
        return cut()
      }
      client.write(b)
    })
    client.on('error', cut).on('close', cut)
    upstream.on('error', cut).on('close', cut)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as { port: number }
  return {
    url: `redis://127.0.0.1:${port}`,
    arm: () => {
      armed = true
    },
    lost: () => lost,
  }
}

describe('followed shard stream, a reply lost on the wire', () => {
  it("an entry whose blocking read's reply was lost (the read resent on reconnect) is not overtaken by the thread's next entry", async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end())
    await h.endpoint(receiver.url())
    const proxy = await lossyProxy(h.fx.url)
    const own: Redis[] = []
    onTestFinished(() => {
      for (const c of own) c.disconnect()
    })
    // Only the blocking read's connection goes through the proxy.
    const connect = (name: string) => {
      const c = createRedis(name.includes('outbox') ? proxy.url : h.fx.url, { role: 'worker', name })
      c.on('error', () => {})
      own.push(c)
      return c
    }
    // Polled (and reclaimed) every 30 s: only the follower reads within the test's bounds.
    await h.start({ connect, pollMs: 30_000, reclaimIdleMs: 20_000 })
    // Let the follower block on its read, then lose the reply that hands it the next entry.
    await new Promise((r) => setTimeout(r, 300))
    proxy.arm()
    const first = await h.emit({ type: 'thread.run.completed', thread: 'thread_l', nudge: false })
    await expect.poll(() => proxy.lost(), { timeout: 5_000 }).toBe(1)
    // The read was served (the entry is pending under the dispatcher's name), its reply lost.
    await expect.poll(async () => (await h.fx.redis.xpending(h.stores.keys.outbox(0), 'dispatch'))[0]).toBe(1)
    const second = await h.emit({ type: 'thread.run.completed', thread: 'thread_l', nudge: false })
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(2)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([first, second])
  }, 60_000)
})
