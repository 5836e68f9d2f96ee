import { newId, newTurn, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Stores, createStores } from './stores.js'
import { loadedTurnOf } from './turn-store.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

async function queueTurn(threadId: string, assistantId: string) {
  const turn = newTurn({ id: newId('turn'), threadId, assistantId, createdAt: nowSeconds() })
  await stores.turns.create('p1', turn, { assistant_id: assistantId, content: 'hi' }, { wake: false })
  return turn
}

describe('runs.claim with a wake-up hint (claimThread-2.lua; issue 14: the turn and its assistant read in the claim)', () => {
  it("returns the hinted turn's and assistant's stored fields with the fence, only when the head is the hinted turn", async () => {
    const assistant = await stores.assistants.create('p1', { model: 'm' })
    const { thread } = await stores.threads.create('p1')
    const first = await queueTurn(thread.id, assistant.id)
    const second = await queueTurn(thread.id, assistant.id)
    expect(stores.runs.claimReadsAssistant).toBe(true)

    const hinted = await stores.runs.claim(thread.id, { turnId: first.id, project: 'p1', assistantId: assistant.id })
    expect(hinted.head).toBe(`turn:${first.id}`)
    expect(hinted.turn).toEqual(await fx.redis.hgetall(stores.keys.turn(thread.id, first.id)))
    expect(loadedTurnOf(hinted.turn)?.turn).toEqual(first)
    expect(loadedTurnOf(hinted.turn)?.request).toEqual({ assistant_id: assistant.id, content: 'hi' })
    expect(hinted.assistant).toEqual(await fx.redis.hgetall(stores.keys.assistant('p1', assistant.id)))
    expect(hinted.assistant?._project).toBe('p1')

    // A hint naming a turn that is not the head (here the second): nothing read, a new fence all the same.
    const other = await stores.runs.claim(thread.id, { turnId: second.id, project: 'p1', assistantId: assistant.id })
    expect(other).toEqual({ fence: hinted.fence + 1, head: `turn:${first.id}`, turn: undefined, assistant: undefined })
    // No hint: the claim alone.
    expect(await stores.runs.claim(thread.id)).toEqual({ fence: hinted.fence + 2, head: `turn:${first.id}`, turn: undefined, assistant: undefined })
  })

  it('a missing assistant or turn reads as no fields; an empty mailbox as no head', async () => {
    const { thread } = await stores.threads.create('p1')
    const turn = await queueTurn(thread.id, 'asst_gone')
    const gone = await stores.runs.claim(thread.id, { turnId: turn.id, project: 'p1', assistantId: 'asst_gone' })
    expect(gone.assistant).toEqual({})
    await fx.redis.del(stores.keys.turn(thread.id, turn.id))
    const noTurn = await stores.runs.claim(thread.id, { turnId: turn.id, project: 'p1', assistantId: 'asst_gone' })
    expect(noTurn.head).toBe(`turn:${turn.id}`)
    expect(noTurn.turn).toEqual({})
    expect(loadedTurnOf(noTurn.turn)).toBeNull()
    await fx.redis.del(stores.keys.mailbox(thread.id))
    const empty = await stores.runs.claim(thread.id, { turnId: turn.id, project: 'p1', assistantId: 'asst_gone' })
    expect(empty).toEqual({ fence: noTurn.fence + 1, head: null, turn: undefined, assistant: undefined })
  })
})
