/**
 * The reclaim pass (outbox-consumer.ts) must never move an entry whose first attempts this
 * process is making. It used to (XAUTOCLAIM took it to the recovery name, an XCLAIM gave it back a
 * round trip later), and an attempt that settled in between found its entry another consumer's:
 * its retry job kept no FIFO place, the entry's last target then acknowledged the entry, and the
 * retry job's gate found the event handled: it never reached that target again.
 */
import type { ServerResponse } from 'node:http'
import { createRedis } from '@threadwork/storage'
import type { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { GROUP, deliveryJobId } from '@threadwork/webhook-delivery'
import { webhookHarness } from './test-harness.js'

describe('reclaim beside first attempts in flight', () => {
  it("a reclaim pass while an entry's first attempts run (their renewal stalled) loses none of their retries", async () => {
    const h = await webhookHarness()
    const k = h.stores.keys
    // Two endpoints for one event: one fails its first attempt (a retry follows), one succeeds and
    // is the entry's last target (its end acknowledges the entry). Each holds its request until told.
    const held: Record<'fail' | 'ok', ServerResponse[]> = { fail: [], ok: [] }
    const failing = await startReceiver((_req, res) => (failing.received.length === 1 ? held.fail.push(res) : res.writeHead(200).end()))
    const ok = await startReceiver((_req, res) => held.ok.push(res))
    const epFail = await h.endpoint(failing.url())
    await h.endpoint(ok.url())

    // The dispatcher's command connection, with the interleaving under test: its in-flight entries'
    // renewal stalled (as a blocked event loop does under load), a reclaim pass noted, and a
    // give-back XCLAIM (to the dispatcher itself, idle 0, JUSTID) held until the test lets it go.
    const redis: Redis = createRedis(h.fx.url, { role: 'worker', name: 'dispatcher', coalesceWrites: true })
    onTestFinished(() => redis.disconnect())
    let consumer = ''
    /** When each reclaim pass began (ms). */
    const reclaimPasses: number[] = []
    let holdGiveBack = false
    let letGiveBackGo: () => void = () => {}
    const giveBackHeld = new Promise<void>((resolve) => {
      letGiveBackGo = resolve
    })
    const real = { xpending: redis.xpending.bind(redis), xautoclaim: redis.xautoclaim.bind(redis), xclaim: redis.xclaim.bind(redis) }
    const r = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
    r.xpending = (...a: unknown[]) => {
      // The renewal lists this consumer's idle entries: it finds none (stalled).
      if (a.includes('IDLE') && a.at(-1) === consumer) return Promise.resolve([])
      if (a.includes('IDLE')) reclaimPasses.push(Date.now())
      return (real.xpending as (...x: unknown[]) => Promise<unknown>)(...a)
    }
    r.xautoclaim = (...a: unknown[]) => {
      reclaimPasses.push(Date.now())
      return (real.xautoclaim as (...x: unknown[]) => Promise<unknown>)(...a)
    }
    r.xclaim = async (...a: unknown[]) => {
      if (holdGiveBack && a[2] === consumer && a[3] === 0 && a.at(-1) === 'JUSTID') await giveBackHeld
      return (real.xclaim as (...x: unknown[]) => Promise<unknown>)(...a)
    }
    const d = await h.start({ redis, reclaimIdleMs: 300 })

    const evt = await h.emit({ type: 'thread.run.completed', thread: 'thread_r' })
    await expect.poll(() => held.fail.length + held.ok.length).toBe(2)
    const pending = (await h.fx.redis.xpending(k.outbox(0), GROUP, '-', '+', 10)) as [string, string][]
    expect(pending).toHaveLength(1)
    holdGiveBack = true
    consumer = pending[0]![1]
    // From now on the renewal is stalled: a reclaim pass that begins 400 ms later finds the entry
    // idle past its 300 ms.
    const stalledAt = Date.now()
    await expect.poll(() => reclaimPasses.some((t) => t >= stalledAt + 400), { timeout: 5_000 }).toBe(true)

    // The failing attempt ends and settles (its retry job) while that pass is in progress.
    held.fail.shift()!.writeHead(503).end()
    await expect.poll(async () => (await d.queues[0]!.getJob(deliveryJobId(evt, epFail.id))) !== undefined).toBe(true)
    letGiveBackGo()
    const owner = async () => ((await h.fx.redis.xpending(k.outbox(0), GROUP, '-', '+', 10)) as [string, string][])[0]?.[1]
    await expect.poll(owner).toBe(consumer)
    // The last target succeeds: the entry is acknowledged.
    held.ok.shift()!.writeHead(200).end()
    await expect.poll(async () => (await h.fx.redis.xpending(k.outbox(0), GROUP))[0], { timeout: 10_000 }).toBe(0)

    // The failed target gets its retry (the schedule's 100 ms), not nothing.
    await expect.poll(() => failing.received.length, { timeout: 10_000 }).toBe(2)
  }, 60_000)
})
