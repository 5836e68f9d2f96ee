/**
 * Horizontal scaling is correct: with 1 and with 4 worker processes on one Redis, turns on many
 * threads run strictly in order per thread, never two at once on a thread (the fake upstream's
 * `overlaps` stays empty), and every turn's run calls the model exactly once.
 */
import { type FakeUpstream, echoText, runTurnLoad, startFakeUpstream, verifyTurnLoad } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type RunStack, startRunStack } from '../e2e/runs-support.js'

let upstream: FakeUpstream
let stack: RunStack | undefined

beforeEach(async () => {
  upstream = await startFakeUpstream()
  // A little model latency so that turns of different threads really run side by side.
  upstream.respond((req) => ({ kind: 'text', text: echoText(req.body), firstTokenDelayMs: 15, interChunkDelayMs: 2 }))
})
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

describe.each([1, 4])('%i worker process(es)', (workers) => {
  it('runs 30 threads × 5 turns in order per thread, without overlap, each exactly once', async () => {
    stack = await startRunStack({ upstream, workers, worker: { WORKER_CONCURRENCY: '8' } })
    const assistant = await stack.assistant()
    const result = await runTurnLoad({
      baseURL: stack.api.baseURL,
      apiKey: stack.api.apiKey,
      assistantId: assistant.id,
      threads: 30,
      turnsPerThread: 5,
      timeoutMs: 60_000,
    })
    expect(await verifyTurnLoad(result, upstream, { baseURL: stack.api.baseURL, apiKey: stack.api.apiKey })).toEqual([])
    expect(upstream.overlaps).toEqual([])
    expect(upstream.maxInFlightPerThread).toBe(1)
    // Threads really ran side by side (per process concurrency 8).
    expect(upstream.maxInFlight).toBeGreaterThan(1)
  }, 180_000)
})
