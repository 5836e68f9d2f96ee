import { createLogger } from '@threadwork/logger'
import { CALLBACK_OWNER } from '@threadwork/storage'
import { describe, expect, it } from 'vitest'
import { type FirstAttemptsDeps, createFirstAttempts } from './first-attempts.js'

/** First attempts over stub `scripts` (only `precheck` is driven: nothing reaches Redis or a queue). */
const firstAttemptsWith = (scripts: object) =>
  createFirstAttempts({
    scripts: scripts as unknown as FirstAttemptsDeps['scripts'],
    consumer: 'me',
    log: createLogger({ service: 'test', level: 'silent' }),
    maxInFlight: 10,
    projectConcurrency: 25,
    endpointConcurrency: 10,
    timeoutMs: 1000,
    reclaimIdleMs: 10_000,
    eventRetentionSeconds: 60,
    queues: [],
    onStuck: () => {},
  } as unknown as FirstAttemptsDeps)

describe('first attempts: precheck', () => {
  it("sends a batch's callback FIFO checks at once, one call per shard, not at the end of the event-loop turn", async () => {
    const calls: { shard: number; events: readonly { target: string; thread: string; entryId: string }[] }[] = []
    const scripts = {
      fifoClear: async (o: { shard: number; events: readonly { target: string; thread: string; entryId: string }[] }) => {
        calls.push(o)
        return o.events.map((e) => e.thread !== 'thread_busy')
      },
      ack: async () => 0,
      settle: () => {},
    }
    const first = firstAttemptsWith(scripts)
    const checks = first.precheck([
      { shard: 0, entryId: '1-0', evt: 'evt_a', thread: 'thread_a', callbackUrl: 'http://x/cb' },
      { shard: 0, entryId: '2-0', evt: 'evt_busy', thread: 'thread_busy', callbackUrl: 'http://x/cb' },
      { shard: 1, entryId: '1-0', evt: 'evt_b', thread: 'thread_b', callbackUrl: 'http://x/cb' },
      { shard: 0, entryId: '3-0', evt: 'evt_nocb', thread: 'thread_c', callbackUrl: null },
    ])
    // Before any await: the checks are on their way (beside the endpoint versions' GET, not after it).
    expect(calls.map((c) => [c.shard, c.events.map((e) => e.entryId)])).toEqual([
      [0, ['1-0', '2-0']],
      [1, ['1-0']],
    ])
    expect(calls[0]!.events[0]).toEqual({ target: CALLBACK_OWNER, thread: 'thread_a', entryId: '1-0' })
    expect([...checks.keys()]).toEqual(['evt_a', 'evt_busy', 'evt_b'])
    expect(await checks.get('evt_a')).toBe(true)
    expect(await checks.get('evt_busy')).toBe(false)
    await first.close()
  })

  it('takes the answers sent behind the read instead of checking again, except for a pair that was in flight when they were sent', async () => {
    const calls: string[] = []
    const scripts = {
      fifoClear: async (o: { events: readonly { entryId: string }[] }) => {
        calls.push(...o.events.map((e) => e.entryId))
        return o.events.map(() => false)
      },
      ack: async () => 0,
      settle: () => {},
    }
    const first = firstAttemptsWith(scripts)
    const behind = {
      check: { fifoClear: new Map([['1-0', true], ['2-0', true]]), versions: new Map(), slots: [] },
      // thread_b's previous event was being attempted here when the read went out: it may have left a retry's FIFO place since.
      inFlight: new Set([`0|${CALLBACK_OWNER}|thread_b`]),
    }
    const checks = first.precheck(
      [
        { shard: 0, entryId: '1-0', evt: 'evt_a', thread: 'thread_a', callbackUrl: 'http://x/cb' },
        { shard: 0, entryId: '2-0', evt: 'evt_b', thread: 'thread_b', callbackUrl: 'http://x/cb' },
        { shard: 0, entryId: '3-0', evt: 'evt_c', thread: 'thread_c', callbackUrl: 'http://x/cb' },
      ],
      behind,
    )
    expect(calls).toEqual(['2-0', '3-0'])
    expect(await checks.get('evt_a')).toBe(true)
    expect(await checks.get('evt_b')).toBe(false)
    expect(await checks.get('evt_c')).toBe(false)
    await first.close()
  })
})
