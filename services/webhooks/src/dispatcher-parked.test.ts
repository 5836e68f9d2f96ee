/**
 * Jobs parked for want of an in-flight slot (fairness.ts, deliver.ts) are woken by the release of
 * a slot they can use. A parked job that no release wakes sleeps its safety wait, 22.5–37.5 s: an
 * event delayed that long behind a free slot (and its thread's later events behind it).
 */
import { newId } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { type DeliverySlots, createDeliverySlots, createRedis } from '@threadwork/storage'
import { Queue, Worker } from 'bullmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type DeliveryJob, createAttempt, deliveryJobId, jobOptions } from '@threadwork/webhook-delivery'
import { createDeliveryProcessor } from './deliver.js'
import { createSafeDispatcher } from '@threadwork/egress'
import { startReceiver } from '@threadwork/webhook-delivery/test-receiver'
import { webhookHarness } from './test-harness.js'

/** Well below the parked jobs' safety wake (22.5 s at the least): only a wake gets an event out this soon. */
const WOKEN_WITHIN_MS = 10_000

describe('parked delivery jobs', () => {
  it('a slot given back wakes the job parked for that target, not one parked for another target that is still full', async () => {
    const h = await webhookHarness()
    const a = await startReceiver((_req, res) => res.writeHead(200).end())
    const b = await startReceiver((_req, res) => res.writeHead(200).end())
    const epA = await h.endpoint(a.url(), ['thread.run.completed'])
    const epB = await h.endpoint(b.url(), ['thread.message.completed'])
    const slots = createDeliverySlots(h.fx.redis, h.stores.keys)
    // Another dispatcher's attempts hold each endpoint's only slot.
    const hold = (target: string, member: string) => slots.acquire({ project: 'alpha', target, member, projectLimit: 25, targetLimit: 1, leaseMs: 120_000 })
    expect(await hold(epB.id, 'other#1')).toBe('taken')
    expect(await hold(epA.id, 'other#2')).toBe('taken')
    const d = await h.start({ endpointConcurrency: 1 })
    const asleep = async (queue: Queue<DeliveryJob>, id: string) => (await (await queue.getJob(id))?.isDelayed()) ?? false

    // B's event parks first (the longest-parked job of the project), then A's.
    const evtB = await h.emit({ type: 'thread.message.completed', thread: 'thread_b' })
    await expect.poll(() => asleep(d.queues[0]!, deliveryJobId(evtB, epB.id))).toBe(true)
    const evtA = await h.emit({ type: 'thread.run.completed', thread: 'thread_a' })
    await expect.poll(() => asleep(d.queues[0]!, deliveryJobId(evtA, epA.id))).toBe(true)

    // The other dispatcher's attempt to A ends: it gives A's slot back and wakes the job its
    // release pops, as every dispatcher does (deliver.ts, first-attempts.ts).
    const woken = await slots.releaseAndUnpark('alpha', epA.id, 'other#2')
    const job = woken ? await d.queues[0]!.getJob(woken) : undefined
    if (job && (await job.isDelayed())) await job.promote()
    await expect.poll(() => a.received.length, { timeout: WOKEN_WITHIN_MS }).toBe(1)
    // B's endpoint is still full: its event waits on.
    expect(b.received.length).toBe(0)
  }, 60_000)

  it('a job popped by a release before it was asleep wakes itself, though another attempt took that slot meanwhile', async () => {
    const h = await webhookHarness()
    const k = h.stores.keys
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end())
    const ep = await h.endpoint(receiver.url())
    const slots = createDeliverySlots(h.fx.redis, k)
    const hold = (member: string) => slots.acquire({ project: 'alpha', target: ep.id, member, projectLimit: 25, targetLimit: 1, leaseMs: 120_000 })
    const queue = new Queue<DeliveryJob>(k.webhookQueue(0), { connection: h.fx.redis, prefix: k.prefix })
    onTestFinished(() => queue.close())
    /** What a dispatcher does when its attempt ends: gives the slot back, wakes the job its release popped if it is asleep. */
    const giveBack = async (member: string) => {
      const popped = await slots.releaseAndUnpark('alpha', ep.id, member)
      const job = popped ? await queue.getJob(popped) : undefined
      const asleep = job ? await job.isDelayed() : false
      if (job && asleep) await job.promote()
      return { popped, asleep }
    }
    // Another dispatcher's attempt holds the endpoint's only slot.
    expect(await hold('other#1')).toBe('taken')

    // The interleaving the packed-entries test met under load (its debug log: a release popped a
    // job 35-100 ms after it parked, before it was asleep; the target was full again when the job
    // looked, and it slept 16-19 s): that attempt ends right after this job parked, its wake finds
    // the job still active and does nothing, and another attempt takes the freed slot at once.
    let raced: { popped: string | null; asleep: boolean } | null = null
    const racing: DeliverySlots = {
      ...slots,
      async park(...args: Parameters<DeliverySlots['park']>) {
        await slots.park(...args)
        if (raced) return
        raced = await giveBack('other#1')

        expect(await hold('other#2')).toBe('taken')
      },
    }
    const http = createSafeDispatcher({ allowList: ['127.0.0.1/32'] })
    onTestFinished(() => http.close())
    const log = createLogger({ service: 'webhooks-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' })
    const endpoints = h.stores.webhookEndpoints
    const processor = createDeliveryProcessor({
      redis: h.fx.redis,
      keys: k,
      endpoints,
      queues: [queue],
      log,
      attempt: createAttempt({ endpoints, http, log, schedule: [0, 100], timeoutMs: 2_000, pauseAfterFailures: 5 }),
      timeoutMs: 2_000,
      fifoRecheckMs: 1_000,
      fifoMaxWaitMs: 60_000,
      slots: racing,
      projectConcurrency: 25,
      endpointConcurrency: 1,
    })
    const connection = createRedis(h.fx.url, { role: 'worker', name: 'parked-test-worker' })
    const worker = new Worker<DeliveryJob>(queue.name, processor, { connection, prefix: k.prefix, concurrency: 5, lockDuration: 5_000 })
    onTestFinished(async () => {
      await worker.close()
      connection.disconnect()
    })

    const evt = newId('evt')
    const body = JSON.stringify({ id: evt, object: 'event', type: 'thread.run.completed', created_at: 0, data: {} })
    await endpoints.deliveries.saveEvent('alpha', evt, { body, type: 'thread.run.completed', thread: null, callbackUrl: null }, 3600)
    const id = deliveryJobId(evt, ep.id)
    await queue.add(
      'deliver',
      { project: 'alpha', evt, target: ep.id, shard: 0, entryId: null, thread: null, trigger: 'event', tries: 0, retryAt: null },
      jobOptions(id),
    )
    await expect.poll(() => raced).toEqual({ popped: id, asleep: false })
    // It woke itself, found the slot taken again and parked again: a release can find it. (Before,
    // it slept its safety wait, 22.5-37.5 s, in no parked list: no release could wake it.)
    const parkedAgain = async () => (await slots.isParked('alpha', id, ep.id)) || (await slots.isParked('alpha', id))
    await expect.poll(async () => (await parkedAgain()) && (await queue.getJob(id))?.isDelayed()).toBe(true)
    // The attempt holding the slot now ends.
    const t0 = Date.now()
    expect(await giveBack('other#2')).toEqual({ popped: id, asleep: true })
    await expect.poll(() => receiver.received.length, { timeout: WOKEN_WITHIN_MS }).toBe(1)
    console.info(`parked: delivered ${Date.now() - t0} ms after the slot was given back`)
  }, 60_000)

  it('a job waiting its turn in its FIFO takes no slot: only the head parks for one, and the thread goes in order once it frees', async () => {
    const h = await webhookHarness()
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end())
    const ep = await h.endpoint(receiver.url())
    const slots = createDeliverySlots(h.fx.redis, h.stores.keys)
    // Another dispatcher's attempt holds the endpoint's only slot.
    expect(await slots.acquire({ project: 'alpha', target: ep.id, member: 'other#1', projectLimit: 25, targetLimit: 1, leaseMs: 120_000 })).toBe('taken')
    const d = await h.start({ endpointConcurrency: 1 })
    const queue = d.queues[0]!
    const asleep = async (id: string) => (await (await queue.getJob(id))?.isDelayed()) ?? false

    const first = await h.emit({ type: 'thread.run.completed', thread: 'thread_t' })
    await expect.poll(() => asleep(deliveryJobId(first, ep.id))).toBe(true)
    const second = await h.emit({ type: 'thread.run.completed', thread: 'thread_t' })
    await expect.poll(() => asleep(deliveryJobId(second, ep.id))).toBe(true)
    // The head waits for a slot; the second waits for the head, holding and waiting for no slot
    // (when it took one to look at its FIFO, it parked beside the head, and under load such jobs
    // held a busy target's slots among them while the heads could not get one).
    const parked = [
      ...(await h.fx.redis.zrange(h.stores.keys.webhookParkedTarget('alpha', ep.id), 0, -1)),
      ...(await h.fx.redis.zrange(h.stores.keys.webhookParked('alpha'), 0, -1)),
    ]
    expect(parked).toEqual([deliveryJobId(first, ep.id)])

    // The other attempt ends (a dispatcher's give-back and wake): the head goes, then the second.
    const popped = await slots.releaseAndUnpark('alpha', ep.id, 'other#1')
    const job = popped ? await queue.getJob(popped) : undefined
    if (job && (await job.isDelayed())) await job.promote()
    await expect.poll(() => receiver.received.map((r) => r.headers['webhook-id']), { timeout: WOKEN_WITHIN_MS }).toEqual([first, second])
  }, 60_000)
})
