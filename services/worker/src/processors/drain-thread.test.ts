import { type Turn, newId, newTurn, nowSeconds } from '@threadwork/domain'
import { createLogger } from '@threadwork/logger'
import { createStores, wakeEntryOf } from '@threadwork/storage'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ItemContext } from '../run-executor.js'
import { loadHistory } from '../thread-history.js'
import { createDrainProcessor } from './drain-thread.js'
import { createCancelRegistry } from '../cancel-registry.js'
import { type PrefetchedTurn, createClaimAndStartTurn, createStartTurn, prefetchTurn } from './start-turn.js'

let fx: RedisFixture
let stores: ReturnType<typeof createStores>
const log = createLogger({ service: 'test', level: 'silent' })
const project = 'proj'
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(async () => {
  await fx.cleanup()
})

async function queueTurn(threadId: string, assistantId: string, opts: { wake?: boolean } = {}): Promise<Turn> {
  const turn = newTurn({ id: newId('turn'), threadId, assistantId, createdAt: nowSeconds() })
  await stores.turns.create(project, turn, { assistant_id: assistantId, content: 'hi' }, opts)
  return turn
}

const wakeEntries = async () => (await fx.redis.xrange(stores.keys.wakeups(0), '-', '+')).map(([, f]) => wakeEntryOf(f))

describe('wake-up hints (issue 14: the turn and its assistant read beside the claim)', () => {
  it('a turn that heads an empty mailbox wakes with a hint naming it, its project and assistant; one queued behind another item, without', async () => {
    const assistant = await stores.assistants.create(project, { model: 'm' })
    const { thread: a } = await stores.threads.create(project)
    const first = await queueTurn(a.id, assistant.id)
    const { thread: b } = await stores.threads.create(project)
    // b's mailbox already holds a turn (its files being attached: no wake yet), then one that wakes.
    await queueTurn(b.id, assistant.id, { wake: false })
    await queueTurn(b.id, assistant.id)
    expect(await wakeEntries()).toEqual([
      { threadId: a.id, hint: { turnId: first.id, project, assistantId: assistant.id, turn: expect.objectContaining({ id: JSON.stringify(first.id) }) } },
      { threadId: b.id, hint: null },
    ])
    // Entries written by the other wakes carry none.
    await stores.wakeups.wake('thread_other')
    expect((await wakeEntries())[2]).toEqual({ threadId: 'thread_other', hint: null })
  })

  it("the drain hands the prefetched turn and assistant to the item only when the claim's head is the hinted turn", async () => {
    const assistant = await stores.assistants.create(project, { model: 'm' })
    const { thread } = await stores.threads.create(project)
    const turn = await queueTurn(thread.id, assistant.id)
    const seen: (Promise<PrefetchedTurn> | undefined)[] = []
    const drain = createDrainProcessor({
      stores,
      log,
      executeRun: async () => 'done',
      startTurn: async (threadId, _turnId, _fence, item, context?: ItemContext) => {
        seen.push(context?.prefetched)
        await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
        return 'done'
      },
      prefetchTurn: (threadId, hint) => prefetchTurn(stores, threadId, hint),
    })
    const [hinted] = await wakeEntries()
    await drain(thread.id, undefined, { turnId: 'turn_notthehead', project, assistantId: assistant.id })
    expect(seen).toEqual([undefined])

    const again = await queueTurn(thread.id, assistant.id, { wake: false })
    await drain(thread.id, undefined, { ...hinted!.hint!, turnId: again.id })
    const pre = await seen[1]
    expect(pre?.loaded?.turn.id).toBe(again.id)
    expect(pre?.assistant?.id).toBe(assistant.id)
    expect(turn.id).not.toBe(again.id)

    // A missing assistant is a null (the start fails the turn as before), not an error.
    const third = await queueTurn(thread.id, 'asst_gone')
    await drain(thread.id, undefined, { turnId: third.id, project, assistantId: 'asst_gone' })
    expect((await seen[2])?.assistant).toBeNull()
  })

  it("the first round's history page read behind the start is used only if the new message heads it", async () => {
    const { thread, messages } = await stores.threads.create(project, {
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
      ],
    })
    const [one, two] = messages as [(typeof messages)[0], (typeof messages)[0]]
    const opts = { lastMessages: null, budgetTokens: 10_000 }
    // Heads it: used as read (here a page that leaves `one` out, so its use shows).
    const used = await loadHistory(fx.redis, stores.keys, thread.id, { ...opts, firstPage: { ids: Promise.resolve([two.id]), newest: two.id } })
    expect(used.map((m) => m.id)).toEqual([two.id])
    // Does not (the start had not run first): read again.
    const reread = await loadHistory(fx.redis, stores.keys, thread.id, { ...opts, firstPage: { ids: Promise.resolve([one.id]), newest: 'msg_new' } })
    expect(reread.map((m) => m.id)).toEqual([one.id, two.id])
    const failed = await loadHistory(fx.redis, stores.keys, thread.id, { ...opts, firstPage: { ids: Promise.reject(new Error('gone')), newest: two.id } })
    expect(failed.map((m) => m.id)).toEqual([one.id, two.id])
    const last = await loadHistory(fx.redis, stores.keys, thread.id, {
      lastMessages: 1,
      budgetTokens: 10_000,
      firstPage: { ids: Promise.resolve([two.id, one.id]), newest: two.id },
    })
    expect(last.map((m) => m.id)).toEqual([two.id])
  })
})

describe('claim and start in one step (issue 14: one round trip before the model call)', () => {
  /** A drain as the worker wires it, counting what it asks of the stores; each run "ends" by leaving the mailbox. */
  function drainer() {
    const cancels = createCancelRegistry()
    const calls = { claims: 0, folds: 0, turnReads: 0 }
    const counted = {
      ...stores,
      runs: {
        ...stores.runs,
        claim: (t: string) => {
          calls.claims++
          return stores.runs.claim(t)
        },
      },
      turns: {
        ...stores.turns,
        claimAndStart: (a: Parameters<typeof stores.turns.claimAndStart>[0]) => {
          calls.folds++
          return stores.turns.claimAndStart(a)
        },
        load: (t: string, id: string) => {
          calls.turnReads++
          return stores.turns.load(t, id)
        },
      },
    } as typeof stores
    const ran: ItemContext[] = []
    const executeRun = async (threadId: string, runId: string, _fence: number, item: string, context: ItemContext = {}) => {
      ran.push(context)
      cancels.release(runId)
      await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
      return 'done' as const
    }
    const deps = { stores: counted, cancels, runExpiresAfterSeconds: 600 }
    const drain = createDrainProcessor({
      stores: counted,
      log,
      executeRun,
      startTurn: createStartTurn({ ...deps, log, executeRun }),
      prefetchTurn: (threadId, hint) => prefetchTurn(counted, threadId, hint),
      claimAndStartTurn: createClaimAndStartTurn(deps),
    })
    return { drain, calls, ran, cancels }
  }

  /** A turn on a fresh thread, drained from its wake-up entry as the consumer would. */
  async function turnDrained(d: ReturnType<typeof drainer>, assistantId: string) {
    const { thread } = await stores.threads.create(project)
    const turn = await queueTurn(thread.id, assistantId)
    const entry = (await wakeEntries()).find((e) => e.threadId === thread.id)!
    expect(entry.hint?.turn).toBeDefined()
    const before = { ...d.calls }
    await d.drain(thread.id, undefined, entry.hint)
    const run = await stores.runs.load(thread.id, turn.run_id)
    return {
      turn,
      instructions: run?.run.instructions,
      calls: { claims: d.calls.claims - before.claims, folds: d.calls.folds - before.folds, turnReads: d.calls.turnReads - before.turnReads },
      context: d.ran.at(-1)!,
    }
  }

  it('folds the start into the claim once the assistant was read here; a changed assistant is read again, never used stale', async () => {
    const d = drainer()
    const assistant = await stores.assistants.create(project, { model: 'm', instructions: 'old' })
    // Not read by this process yet: the claim, and the turn and assistant read beside it.
    const first = await turnDrained(d, assistant.id)
    expect(first.calls).toEqual({ claims: 1, folds: 0, turnReads: 1 })
    expect(first.instructions).toBe('old')

    // Read now: one script claims and starts; the run goes to the executor as stored.
    const second = await turnDrained(d, assistant.id)
    expect(second.calls).toEqual({ claims: 0, folds: 1, turnReads: 0 })
    expect(second.instructions).toBe('old')
    expect(second.context.started).toBeInstanceOf(AbortController)
    expect(second.context.loaded?.run).toMatchObject({ id: second.turn.run_id, status: 'in_progress', instructions: 'old' })
    expect(second.context.turn).toMatchObject({ id: second.turn.id, status: 'in_progress' })
    expect(second.context.message?.id).toBe(second.turn.message_id)
    expect(await second.context.historyHead?.ids).toEqual([second.turn.message_id])

    // Changed since: the script only claims; the start reads the assistant and builds from the update.
    await stores.assistants.update(project, assistant.id, { instructions: 'new' })
    const third = await turnDrained(d, assistant.id)
    expect(third.calls).toEqual({ claims: 0, folds: 1, turnReads: 1 })
    expect(third.instructions).toBe('new')
    // That read refreshed the copy: the next turn folds again, with the update.
    const fourth = await turnDrained(d, assistant.id)
    expect(fourth.calls).toEqual({ claims: 0, folds: 1, turnReads: 0 })
    expect(fourth.instructions).toBe('new')
    // Every cancel registration was let go, the refused fold's included.
    expect(d.cancels.size).toBe(0)
  })
})
