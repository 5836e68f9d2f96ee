import { type Assistant, RUN_ASSISTANT_FIELDS, type Turn, newId, newMessage, newRun, newTurn, nowSeconds } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Stores, createStores } from './stores.js'
import { wakeEntryOf } from './thread-wakeups.js'
import { type AssistantCheck, WAKE_ENTRY_TURN_MAX_CHARS, turnOfFields } from './turn-store.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

const project = 'p1'
const wakeEntries = async () => (await fx.redis.xrange(stores.keys.wakeups(0), '-', '+')).map(([, f]) => wakeEntryOf(f))

async function queueTurn(threadId: string, assistant: Assistant, content = 'hi', opts: { wake?: boolean } = {}): Promise<Turn> {
  const turn = newTurn({ id: newId('turn'), threadId, assistantId: assistant.id, createdAt: nowSeconds() })
  await stores.turns.create(project, turn, { assistant_id: assistant.id, content }, opts)
  return turn
}

/** The check a worker makes of `raw` (the assistant's hash as it read it): the project and the fields its run is made of. */
function checkOf(assistant: Assistant, raw: Record<string, string>): AssistantCheck {
  const fields = ['_project', ...RUN_ASSISTANT_FIELDS]
  return { key: stores.keys.assistant(project, assistant.id), fields, values: fields.map((f) => raw[f] ?? '') }
}

/** What the worker's start stores for `turn` (built from `assistant`), as in the two-step start. */
function startOf(turn: Turn, assistant: Assistant) {
  const now = nowSeconds()
  const message = newMessage({ id: turn.message_id, threadId: turn.thread_id, createdAt: now, params: { role: 'user', content: 'hi', attachments: [], metadata: {} } })
  const run = {
    ...newRun({ id: turn.run_id, threadId: turn.thread_id, assistant, settings: {}, createdAt: now, expiresAfterSeconds: 600 }),
    status: 'in_progress' as const,
    started_at: now,
  }
  return { project, turn, message, run, runInternal: { _item: `turn:${turn.id}` }, historyPage: 100 }
}

async function setUp() {
  const assistant = await stores.assistants.create(project, { model: 'fake-model', instructions: 'be brief' })
  const raw = await fx.redis.hgetall(stores.keys.assistant(project, assistant.id))
  const { thread } = await stores.threads.create(project)
  return { assistant, raw, threadId: thread.id }
}

describe('a turn carried in its wake-up entry (createTurn-7, issue 14)', () => {
  it('a small turn heading an empty mailbox wakes with its stored fields; a larger one, or one queued behind, without', async () => {
    const { assistant, threadId } = await setUp()
    const turn = await queueTurn(threadId, assistant)
    const [entry] = await wakeEntries()
    const { _project, ...stored } = await fx.redis.hgetall(stores.keys.turn(threadId, turn.id))
    expect(_project).toBe(project)
    expect(entry!.hint).toEqual({ turnId: turn.id, project, assistantId: assistant.id, turn: stored })
    // What the worker makes of the copy is what it makes of the hash.
    expect(turnOfFields(entry!.hint!.turn!, project)).toEqual(await stores.turns.load(threadId, turn.id))
    // The entry itself leaves out what every accepted turn has and what its hint names: the worker puts it back.
    const [wake] = await fx.redis.xrange(stores.keys.wakeups(0), '-', '+')
    const carried = wake![1].filter((_, i) => i % 2 === 0).slice(4)
    expect(carried.sort()).toEqual(['_request', 'assistant_id', 'callback_url', 'created_at', 'message_id', 'metadata', 'run_id'])

    const { thread: big } = await stores.threads.create(project)
    await queueTurn(big.id, assistant, 'x'.repeat(WAKE_ENTRY_TURN_MAX_CHARS))
    const { thread: behind } = await stores.threads.create(project)
    await queueTurn(behind.id, assistant, 'first', { wake: false })
    await queueTurn(behind.id, assistant)
    const [, bigEntry, behindEntry] = await wakeEntries()
    expect(bigEntry!.hint).toMatchObject({ project, assistantId: assistant.id })
    expect(bigEntry!.hint!.turn).toBeUndefined()
    expect(behindEntry!.hint).toBeNull()
  })
})

describe('claim and start in one step (startTurn-7 with ARGV[1] empty, issue 14)', () => {
  it('claims (a new fence) and starts the head turn as claim + start do, returning the history page', async () => {
    const { assistant, raw, threadId } = await setUp()
    await fx.redis.set(stores.keys.fence(threadId), '4')
    const turn = await queueTurn(threadId, assistant)
    const start = startOf(turn, assistant)
    const reply = await stores.turns.claimAndStart({ ...start, assistant: checkOf(assistant, raw) })
    expect(reply).toMatchObject({ started: true, fence: 5, history: [turn.message_id] })
    expect(await fx.redis.get(stores.keys.fence(threadId))).toBe('5')
    expect((await stores.turns.load(threadId, turn.id))?.turn.status).toBe('in_progress')
    const run = await stores.runs.load(threadId, turn.run_id)
    expect(run?.run).toMatchObject({ id: turn.run_id, status: 'in_progress', instructions: 'be brief' })
    expect(run?.internal).toMatchObject({ _item: `turn:${turn.id}`, _lock: '1', _dl: '0' })
    expect(await fx.redis.zrange(stores.keys.messages(threadId), 0, -1)).toEqual([turn.message_id])
    // The item stays at the head until the run's terminal commit, under the new fence only.
    expect(await fx.redis.lrange(stores.keys.mailbox(threadId), 0, -1)).toEqual([`turn:${turn.id}`])
    const commit = (fence: number) => stores.runs.commit(threadId, turn.run_id, { project, fence, from: ['in_progress'], run: { status: 'completed' }, pop: `turn:${turn.id}` })
    expect(await commit(4)).toMatchObject({ ok: false, reason: 'fenced' })
    expect(await commit(5)).toMatchObject({ ok: true, next: null })
  })

  it('only claims when the head is another item, the turn is no longer queued, or nothing is there', async () => {
    const { assistant, raw, threadId } = await setUp()
    const earlier = await queueTurn(threadId, assistant, 'first', { wake: false })
    const turn = await queueTurn(threadId, assistant)
    const check = checkOf(assistant, raw)
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toEqual({ started: false, fence: 1, head: `turn:${earlier.id}` })

    // The earlier one gone, the turn cancelled while queued: claimed, not started.
    await fx.redis.lrem(stores.keys.mailbox(threadId), 1, `turn:${earlier.id}`)
    await fx.redis.hset(stores.keys.turn(threadId, turn.id), 'status', '"cancelled"')
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toEqual({ started: false, fence: 2, head: `turn:${turn.id}` })
    expect(await stores.runs.load(threadId, turn.run_id)).toBeNull()
    expect(await fx.redis.zcard(stores.keys.messages(threadId))).toBe(0)

    // An empty mailbox: claimThread-2's rule (a fence only where one exists).
    await fx.redis.del(stores.keys.mailbox(threadId))
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toEqual({ started: false, fence: 3, head: null })
    await fx.redis.del(stores.keys.fence(threadId))
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toEqual({ started: false, fence: 0, head: null })
    expect(await fx.redis.exists(stores.keys.fence(threadId))).toBe(0)
  })

  it('starts only with the assistant still as cached in the fields a run is made of; other fields do not matter', async () => {
    const { assistant, raw, threadId } = await setUp()
    const turn = await queueTurn(threadId, assistant)
    const check = checkOf(assistant, raw)
    const notStarted = { started: false, head: `turn:${turn.id}` }
    for (const changed of [{ instructions: 'be long' }, { model: 'other-model' }, { temperature: 0.5 }, { tools: [{ type: 'code_interpreter' as const }] }]) {
      await stores.assistants.update(project, assistant.id, changed)
      expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toMatchObject(notStarted)
      // Back as cached (the hash as it was), so the next change is the only one.
      await fx.redis.del(stores.keys.assistant(project, assistant.id))
      await fx.redis.hset(stores.keys.assistant(project, assistant.id), raw)
    }
    // A field that was absent must still be absent.
    await fx.redis.hset(stores.keys.assistant(project, assistant.id), 'reasoning_effort', '"high"')
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toMatchObject(notStarted)
    await fx.redis.hdel(stores.keys.assistant(project, assistant.id), 'reasoning_effort')
    // Deleted, or another project's: not started either.
    await fx.redis.hset(stores.keys.assistant(project, assistant.id), '_project', 'p2')
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toMatchObject(notStarted)
    await fx.redis.del(stores.keys.assistant(project, assistant.id))
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toMatchObject(notStarted)
    expect(await stores.runs.load(threadId, turn.run_id)).toBeNull()

    await fx.redis.hset(stores.keys.assistant(project, assistant.id), raw)
    await stores.assistants.update(project, assistant.id, { name: 'renamed', description: 'd', metadata: { k: 'v' } })
    expect(await stores.turns.claimAndStart({ ...startOf(turn, assistant), assistant: check })).toMatchObject({ started: true, fence: 8 })
  })
})
