import { type Keys, type RedisClient, createThreadWakeups } from '@threadwork/storage'
import type { Queue } from 'bullmq'
import { Gauge, type Registry } from 'prom-client'

/** BullMQ states reported per queue (v6 has no `paused` state). */
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const
/** A scrape must answer even while Redis is down: each read gives up after this. */
const READ_TIMEOUT_MS = 1500

const withTimeout = <T>(p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('metrics read timed out')), READ_TIMEOUT_MS).unref())])

/**
 * Queue-level metrics computed from Redis at scrape time, so they are right however many workers
 * run and wherever: no worker has to push anything. Per queue: job counts by state and the age of
 * the oldest waiting job; per shard: threads with queued work and how long the oldest has waited
 * (the mailbox view, which a deduplicated drain job under-counts). `threadwork_redis_up` is 0 when
 * the reads failed (the other series then keep their last values out: they are not reported).
 */
export function registerQueueCollectors(registry: Registry, deps: { redis: RedisClient; keys: Keys; queues: readonly Queue[] }) {
  const { redis, keys, queues } = deps
  async function readQueue(q: Queue) {
    const counts = await q.getJobCounts(...STATES)
    // BullMQ pushes new jobs at the head of `wait`: the tail is the oldest.
    const [id] = await redis.lrange(`${q.opts.prefix}:${q.name}:wait`, -1, -1)
    const ts = id ? await redis.hget(`${q.opts.prefix}:${q.name}:${id}`, 'timestamp') : null
    return { counts, age: ts ? Math.max(0, (Date.now() - Number(ts)) / 1000) : 0 }
  }
  const wakeups = createThreadWakeups(redis, keys)
  async function readShard(shard: number) {
    const key = keys.pending(shard)
    const [count, first, group] = await Promise.all([redis.zcard(key), redis.zrange(key, 0, 0, 'WITHSCORES'), wakeups.groupState(shard)])
    return { count, age: first[1] ? Math.max(0, (Date.now() - Number(first[1])) / 1000) : 0, unread: group?.lag ?? 0, held: group?.pending ?? 0 }
  }

  type Scrape = { perQueue: Awaited<ReturnType<typeof readQueue>>[]; perShard: Awaited<ReturnType<typeof readShard>>[] } | null
  // prom-client collects every metric in parallel: they share one read of Redis per scrape.
  let inflight: Promise<Scrape> | null = null
  const scrape = (): Promise<Scrape> =>
    (inflight ??= withTimeout(Promise.all([Promise.all(queues.map(readQueue)), Promise.all(Array.from({ length: keys.shards }, (_, s) => readShard(s)))]))
      .then(([perQueue, perShard]): Scrape => ({ perQueue, perShard }))
      .catch((): Scrape => null)
      .finally(() => {
        inflight = null
      }))

  new Gauge({
    name: 'threadwork_redis_up',
    help: '1 when this scrape could read the queues from Redis (the queue series are left out when 0).',
    registers: [registry],
    async collect() {
      this.set((await scrape()) ? 1 : 0)
    },
  })
  new Gauge({
    name: 'threadwork_queue_jobs',
    help: 'BullMQ jobs per queue and state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const r = await scrape()
      this.reset()
      if (r) queues.forEach((q, i) => STATES.forEach((state) => this.set({ queue: q.name, state }, r.perQueue[i]!.counts[state] ?? 0)))
    },
  })
  new Gauge({
    name: 'threadwork_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in a queue (0 when none waits).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const r = await scrape()
      this.reset()
      if (r) queues.forEach((q, i) => this.set({ queue: q.name }, r.perQueue[i]!.age))
    },
  })
  new Gauge({
    name: 'threadwork_pending_threads',
    help: 'Threads with queued work, per shard.',
    labelNames: ['shard'],
    registers: [registry],
    async collect() {
      const r = await scrape()
      this.reset()
      r?.perShard.forEach((x, shard) => this.set({ shard: String(shard) }, x.count))
    },
  })
  new Gauge({
    name: 'threadwork_pending_oldest_seconds',
    help: 'How long the longest-waiting thread with queued work has waited, per shard.',
    labelNames: ['shard'],
    registers: [registry],
    async collect() {
      const r = await scrape()
      this.reset()
      r?.perShard.forEach((x, shard) => this.set({ shard: String(shard) }, x.age))
    },
  })
  new Gauge({
    name: 'threadwork_thread_wakeups',
    help: 'Thread drains owed per shard (its wake-up stream): unread, or held by a worker (running, or a crashed worker\'s awaiting takeover).',
    labelNames: ['shard', 'state'],
    registers: [registry],
    async collect() {
      const r = await scrape()
      this.reset()
      r?.perShard.forEach((x, shard) => {
        this.set({ shard: String(shard), state: 'unread' }, x.unread)
        this.set({ shard: String(shard), state: 'held' }, x.held)
      })
    },
  })
}
