import { ApiError, type TurnCreateParams, newId, newTurn, nowSeconds } from '@threadwork/domain'
import type { DrainQueues } from '@threadwork/queue'
import { AssistantChangedError, createStores } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createModelGate } from '../model-gate.js'
import type { RunService } from '../runs/run-service.js'
import { type TurnService, createTurnService } from './turn-service.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
let turns: TurnService
let reads: { mock: { calls: unknown[][] } }
const P = 'p1'
const fn = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties: {} } } })

beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
  reads = vi.spyOn(stores.assistants, 'getStamped')
  turns = createTurnService({
    stores,
    queues: { enqueueDrain: async () => {} } as unknown as DrainQueues,
    runs: {} as RunService,
    // 'gone-model' is the model no provider serves.
    modelGate: createModelGate((model) => (model === 'gone-model' ? 'not_found' : 'ok')),
  })
})
afterEach(() => fx.cleanup())

const queued = async (threadId: string) => (await stores.turns.list(P, threadId, { limit: 100, order: 'asc' })).data.length

describe('turn service: the assistant a turn is checked against', () => {
  it('reads an assistant once for many turns, and stores none for one deleted since', async () => {
    const assistant = await stores.assistants.create(P, { model: 'm1' })
    const { thread } = await stores.threads.create(P, {})
    const params: TurnCreateParams = { assistant_id: assistant.id, content: 'hi' }
    for (let i = 0; i < 3; i++) await turns.create(P, thread.id, params)
    expect(reads).toHaveBeenCalledTimes(1)
    expect(await queued(thread.id)).toBe(3)

    await stores.assistants.delete(P, assistant.id)
    const err = await turns.create(P, thread.id, params).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 404, message: `No assistant found with id '${assistant.id}'.` })
    expect(await queued(thread.id)).toBe(3)
    // And the next one reads it again (and is refused the same way).
    await expect(turns.create(P, thread.id, params)).rejects.toMatchObject({ status: 404, message: `No assistant found with id '${assistant.id}'.` })
    expect(reads).toHaveBeenCalledTimes(2)
  })

  it("a missing assistant's 404 comes before a missing thread's, cached or not", async () => {
    const assistant = await stores.assistants.create(P, { model: 'm1' })
    const { thread } = await stores.threads.create(P, {})
    await turns.create(P, thread.id, { assistant_id: assistant.id, content: 'hi' })
    await stores.assistants.delete(P, assistant.id)
    await expect(turns.create(P, 'thread_nope', { assistant_id: assistant.id, content: 'hi' })).rejects.toMatchObject({
      status: 404,
      message: `No assistant found with id '${assistant.id}'.`,
    })
  })

  it('checks a turn against the assistant as it is now when its model or tools changed since it was read', async () => {
    const assistant = await stores.assistants.create(P, { model: 'm1', tools: [fn('lookup')] })
    const { thread } = await stores.threads.create(P, {})
    const choosing = (name: string): TurnCreateParams => ({
      assistant_id: assistant.id,
      content: 'hi',
      run: { tool_choice: { type: 'function', function: { name } } },
    })
    await turns.create(P, thread.id, choosing('lookup'))

    // The cached assistant had `lookup`; the stored one no longer does.
    await stores.assistants.update(P, assistant.id, { tools: [fn('search')] })
    await expect(turns.create(P, thread.id, choosing('lookup'))).rejects.toMatchObject({ status: 400, opts: { param: 'run.tool_choice' } })
    // The cached assistant lacks `search` (until re-read): the refusal is checked again against the stored one.
    await stores.assistants.update(P, assistant.id, { tools: [fn('lookup')] })
    await turns.create(P, thread.id, choosing('lookup'))
    await stores.assistants.update(P, assistant.id, { tools: [fn('search')] })
    await turns.create(P, thread.id, choosing('search'))

    // A model no provider serves any more is refused, as if read first.
    await stores.assistants.update(P, assistant.id, { model: 'gone-model' })
    await expect(turns.create(P, thread.id, { assistant_id: assistant.id, content: 'hi' })).rejects.toMatchObject({
      status: 400,
      opts: { code: 'model_not_found' },
    })
    expect(await queued(thread.id)).toBe(3)
  })

  it('keeps its Idempotency-Key usable when the cached assistant turned out changed', async () => {
    const assistant = await stores.assistants.create(P, { model: 'm1' })
    const { thread } = await stores.threads.create(P, {})
    const params: TurnCreateParams = { assistant_id: assistant.id, content: 'hi' }
    await turns.create(P, thread.id, params)
    await stores.assistants.update(P, assistant.id, { model: 'm2' })
    const first = await turns.create(P, thread.id, params, 'key-1')
    const again = await turns.create(P, thread.id, params, 'key-1')
    expect(again.id).toBe(first.id)
    expect(await queued(thread.id)).toBe(2)
  })
})

describe('turns.create with an assistant stamp', () => {
  it('stores nothing when the assistant does not have the stamped model and tools', async () => {
    const assistant = await stores.assistants.create(P, { model: 'm1' })
    const { thread } = await stores.threads.create(P, {})
    const { stamp } = await stores.assistants.getStamped(P, assistant.id)
    const turn = newTurn({ id: newId('turn'), threadId: thread.id, assistantId: assistant.id, createdAt: nowSeconds() })
    await expect(stores.turns.create(P, turn, {}, { assistant: { ...stamp, model: '"m2"' } })).rejects.toBeInstanceOf(AssistantChangedError)
    await expect(stores.turns.create(P, turn, {}, { assistant: { ...stamp, tools: '[]x' } })).rejects.toBeInstanceOf(AssistantChangedError)
    await expect(stores.turns.create('p2', turn, {}, { assistant: stamp })).rejects.toMatchObject({
      status: 404,
      message: `No assistant found with id '${assistant.id}'.`,
    })
    expect(await queued(thread.id)).toBe(0)
    await stores.turns.create(P, turn, {}, { assistant: stamp })
    expect(await queued(thread.id)).toBe(1)
  })
})
