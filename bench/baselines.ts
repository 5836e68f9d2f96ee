/** Raw BullMQ baselines the Threadwork figures are compared against, measured in the same run. */
import { TEST_REDIS_URL } from '@threadwork/test-utils'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'

/** A bare Queue + no-op Worker: one job's add → completed, and no-op throughput. */
export async function bareBullMQ(prefix: string, concurrency = 1) {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue('bench-noop', { connection, prefix })
  const worker = new Worker('bench-noop', async () => null, { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix, concurrency })
  const waiting = new Map<string, () => void>()
  worker.on('completed', (job) => {
    waiting.get(job.id ?? '')?.()
    waiting.delete(job.id ?? '')
  })
  await worker.waitUntilReady()
  let n = 0
  const addAndWait = async (): Promise<void> => {
    const jobId = `j${n++}`
    const done = new Promise<void>((resolve) => waiting.set(jobId, resolve))
    await queue.add('noop', {}, { jobId, removeOnComplete: true })
    await done
  }
  return {
    roundTrip: addAndWait,
    /** Jobs/s for `total` no-op jobs added with `inFlight` producers. */
    async throughput(total: number, inFlight = 100): Promise<number> {
      const t0 = performance.now()
      let next = 0
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) {
            next++
            await addAndWait()
          }
        }),
      )
      return total / ((performance.now() - t0) / 1000)
    },
    async close(): Promise<void> {
      await worker.close()
      await queue.obliterate({ force: true })
      await queue.close()
      connection.disconnect()
    },
  }
}
