import { type Assistant, type ToolResources, newId, newMessage, newRun, newTurn, nowSeconds, threadToolResourcesForRun } from '@threadwork/domain'
import { type RedisFixture, createRedisFixture } from '@threadwork/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeFields } from './codec.js'
import { type Stores, createStores } from './stores.js'
import { DRAIN_GROUP } from './thread-wakeups.js'

let fx: RedisFixture
let stores: Stores
beforeEach(async () => {
  fx = await createRedisFixture()
  stores = createStores(fx.redis, fx.prefix)
})
afterEach(() => fx.cleanup())

/**
 * Accepts a turn on `threadId` and starts it as the worker's drain does (claim, then `startTurn`),
 * its run `in_progress`; `holder`: another run holds the thread's lock first.
 */
async function startTurnRun(assistant: Assistant, threadId: string, opts: { holder?: string } = {}) {
  const turn = newTurn({ id: newId('turn'), threadId, assistantId: assistant.id, createdAt: nowSeconds() })
  await stores.turns.create('p1', turn, { assistant_id: assistant.id, content: 'hi' }, { wake: false })
  if (opts.holder) await fx.redis.hset(stores.keys.thread(threadId), '_active_run', opts.holder)
  const { fence } = await stores.runs.claim(threadId)
  const message = newMessage({ id: turn.message_id, threadId, createdAt: nowSeconds(), params: { role: 'user', content: 'hi', attachments: [], metadata: {} } })
  const run = {
    ...newRun({ id: turn.run_id, threadId, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 }),
    status: 'in_progress' as const,
  }
  expect((await stores.turns.start({ project: 'p1', fence, turn, message, run, runInternal: { _item: `turn:${turn.id}` } })).ok).toBe(true)
  return { run, fence, item: `turn:${turn.id}` }
}

async function queuedRun() {
  const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
  const { thread } = await stores.threads.create('p1')
  const r = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
  await stores.runs.create('p1', r, [])
  return r
}

describe('commitRun-6', () => {
  it('patches an existing object and never recreates a gone one (no EXISTS: HSET tells)', async () => {
    const r = await queuedRun()
    const present = `${fx.prefix}:patch-present`
    const gone = `${fx.prefix}:patch-gone`
    await fx.redis.hset(present, 'status', '"queued"', 'other', '"kept"')
    const outcome = await stores.runs.commit(r.thread_id, r.id, {
      project: 'p1',
      from: ['queued'],
      run: { status: 'in_progress' },
      patches: [
        { key: present, fields: { status: 'completed', completed_at: 5 } },
        { key: gone, fields: { status: 'completed', completed_at: 5 } },
      ],
    })
    expect(outcome.ok).toBe(true)
    expect(await fx.redis.hgetall(present)).toEqual({ status: '"completed"', completed_at: '5', other: '"kept"' })
    expect(await fx.redis.exists(gone)).toBe(0)
  })

  it("writes a commit's several events as one outbox entry, in order; a single event as an entry of its own", async () => {
    const r = await queuedRun()
    const outbox = stores.keys.outbox(stores.keys.shardOf(r.thread_id))
    await stores.runs.commit(r.thread_id, r.id, {
      project: 'p1',
      from: ['queued'],
      run: { status: 'in_progress' },
      events: [
        { type: 'thread.message.completed', data: { id: 'msg_1', text: 'a "quoted" / slashed é' } },
        { type: 'thread.run.completed', data: { id: r.id } },
        { type: 'thread.turn.completed', data: { turn: { id: 'turn_1' } }, callbackUrl: 'https://cb.example/x?y=1' },
      ],
    })
    await stores.runs.commit(r.thread_id, r.id, {
      project: 'p1',
      from: ['in_progress'],
      run: { status: 'completed' },
      events: [{ type: 'thread.run.completed', data: { id: r.id } }],
    })
    const entries = (await fx.redis.xrange(outbox, '-', '+')).map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))))
    expect(entries).toHaveLength(2)
    expect(entries[0]).toEqual({ project: 'p1', thread: r.thread_id, created_at: expect.any(String), events: expect.any(String) })
    const packed = JSON.parse(entries[0]!.events!) as [string, string, unknown, string][]
    expect(packed.map(([evt, type, data, cb]) => [evt.startsWith('evt_'), type, data, cb])).toEqual([
      [true, 'thread.message.completed', { id: 'msg_1', text: 'a "quoted" / slashed é' }, ''],
      [true, 'thread.run.completed', { id: r.id }, ''],
      [true, 'thread.turn.completed', { turn: { id: 'turn_1' } }, 'https://cb.example/x?y=1'],
    ])
    expect(entries[1]).toEqual({
      evt: expect.stringMatching(/^evt_/),
      type: 'thread.run.completed',
      project: 'p1',
      thread: r.thread_id,
      created_at: expect.any(String),
      data: JSON.stringify({ id: r.id }),
      callback_url: '',
    })
  })

  it("stores a turn's objects and records its events byte for byte as JSON.stringify gives them (what the API, webhooks and SDKs read)", async () => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model', instructions: 'Be "brief" — ünïcode ✓ 🙂' })
    const { thread } = await stores.threads.create('p1')
    const { run, fence, item } = await startTurnRun(assistant, thread.id)
    const now = nowSeconds()
    const message = newMessage({
      id: newId('msg'),
      threadId: thread.id,
      createdAt: now,
      params: { role: 'assistant', content: 'a "quoted" \\ reply\n— é 🙂 </script>', attachments: [], metadata: { k: 'v' } },
      run_id: run.id,
      assistant_id: assistant.id,
      status: 'completed',
      completed_at: now,
    })
    const step = {
      id: newId('step'),
      object: 'thread.run.step',
      run_id: run.id,
      status: 'completed',
      step_details: { type: 'message_creation', message_creation: { message_id: message.id } },
    }
    const ended = {
      ...run,
      status: 'completed' as const,
      completed_at: now,
      expires_at: null,
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    }
    const turn = { id: 'turn_1', object: 'thread.turn', status: 'completed', nested: { deeper: { deepest: [{ x: 'é \u2028 \u0000 \ud83d' }] } } }
    const events = [
      { type: 'thread.message.completed', data: message },
      { type: 'thread.run.step.completed', data: step },
      { type: 'thread.run.completed', data: ended },
      { type: 'thread.turn.completed', data: { turn, run: ended, messages: [message, step], again: [ended] }, callbackUrl: 'https://cb.example/x?y=1&z="2"' },
    ]
    const outcome = await stores.runs.commit(thread.id, run.id, {
      project: 'p1',
      fence,
      from: ['in_progress'],
      run: { status: 'completed', completed_at: now, expires_at: null, usage: ended.usage },
      messages: [message],
      steps: [step as never],
      events,
      pop: item,
      release: true,
    })
    expect(outcome.ok).toBe(true)
    // Stored as each field's JSON; recorded as JSON.stringify of the whole list.
    expect(await fx.redis.hgetall(stores.keys.message(thread.id, message.id))).toEqual(
      Object.fromEntries(encodeFields(message as never).flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]]))),
    )
    const outbox = stores.keys.outbox(stores.keys.shardOf(thread.id))
    const f = ((await fx.redis.xrange(outbox, '-', '+')) as [string, string[]][])[0]![1]
    const fields = Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))) as Record<string, string>
    const evts = (JSON.parse(fields.events!) as [string][]).map(([evt]) => evt)
    expect(fields.events).toBe(JSON.stringify(events.map((e, i) => [evts[i], e.type, e.data, e.callbackUrl ?? ''])))

    // One event naming a written message: the entry's data is the message's JSON.
    const { thread: other } = await stores.threads.create('p1')
    const second = await startTurnRun(assistant, other.id)
    const reply = { ...message, id: newId('msg'), thread_id: other.id, run_id: second.run.id }
    await stores.runs.commit(other.id, second.run.id, {
      project: 'p1',
      fence: second.fence,
      from: ['in_progress'],
      messages: [reply],
      events: [{ type: 'thread.message.completed', data: reply, callbackUrl: 'https://cb.example/one' }],
    })
    const entries = (await fx.redis.xrange(outbox, '-', '+')) as [string, string[]][]
    const single = Object.fromEntries(entries.at(-1)![1].flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : []))) as Record<string, string>
    expect(single).toEqual({
      evt: expect.stringMatching(/^evt_/),
      type: 'thread.message.completed',
      project: 'p1',
      thread: other.id,
      created_at: expect.any(String),
      data: JSON.stringify(reply),
      callback_url: 'https://cb.example/one',
    })
  })

  it('sends no pub/sub nudge with its events (dispatchers block on the outbox stream itself)', async () => {
    const r = await queuedRun()
    const sub = fx.redis.duplicate()
    const heard: string[] = []
    sub.on('message', (_channel, message) => heard.push(message))
    await sub.subscribe(stores.keys.outboxChannel)
    try {
      await stores.runs.commit(r.thread_id, r.id, {
        project: 'p1',
        from: ['queued'],
        run: { status: 'in_progress' },
        events: [{ type: 'thread.run.in_progress', data: {} }],
      })
      await stores.runs.commit(r.thread_id, r.id, {
        project: 'p1',
        from: ['in_progress'],
        run: { status: 'completed' },
        events: [
          { type: 'thread.message.completed', data: {} },
          { type: 'thread.run.completed', data: {} },
        ],
      })
      // Messages on one channel arrive in order: once the sentinel is heard, a nudge would have been too.
      await fx.redis.publish(stores.keys.outboxChannel, 'sentinel')
      await expect.poll(() => heard.includes('sentinel')).toBe(true)
      expect(heard).toEqual(['sentinel'])
    } finally {
      sub.disconnect()
    }
  })

  it("a turn's run keeps whether it took the thread's lock (`_lock`): its release drops the lock without a look, and only once", async () => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
    const { thread } = await stores.threads.create('p1')
    const startTurn = (opts: { holder?: string } = {}) => startTurnRun(assistant, thread.id, opts)
    const lockOf = (runId: string) => fx.redis.hget(stores.keys.run(thread.id, runId), '_lock')
    const activeRun = () => fx.redis.hget(stores.keys.thread(thread.id), '_active_run')

    const first = await startTurn()
    expect(await lockOf(first.run.id)).toBe('1')
    expect(await activeRun()).toBe(first.run.id)
    const done = await stores.runs.commit(thread.id, first.run.id, {
      project: 'p1',
      fence: first.fence,
      from: ['in_progress'],
      run: { status: 'completed' },
      release: true,
      pop: first.item,
    })
    expect(done.ok).toBe(true)
    expect(await activeRun()).toBeNull()
    // Released once: the flag is gone, so a later release of the same run can never drop another run's lock.
    expect(await lockOf(first.run.id)).toBe('0')
    await fx.redis.hset(stores.keys.thread(thread.id), '_active_run', 'run_other')
    await stores.runs.commit(thread.id, first.run.id, { project: 'p1', from: ['completed'], run: {}, release: true })
    expect(await activeRun()).toBe('run_other')

    // Another run held the lock when the turn started: the turn's run did not take it, and its release leaves it.
    const second = await startTurn({ holder: 'run_other' })
    expect(await lockOf(second.run.id)).toBe('0')
    await stores.runs.commit(thread.id, second.run.id, {
      project: 'p1',
      fence: second.fence,
      from: ['in_progress'],
      run: { status: 'completed' },
      release: true,
      pop: second.item,
    })
    expect(await activeRun()).toBe('run_other')
  })

  it("lets go of the drain's wake-up entry when its key names it as is (GETDEL), and leaves a key woken again as it was", async () => {
    for (const wokenAgain of [false, true]) {
      const r = await queuedRun()
      const t = r.thread_id
      const stream = stores.keys.shardWakeups(t)
      await fx.redis.xgroup('CREATE', stream, DRAIN_GROUP, '0', 'MKSTREAM').catch(() => undefined)
      await stores.wakeups.wake(t)
      const read = (await fx.redis.xreadgroup('GROUP', DRAIN_GROUP, 'w1', 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][]
      const entry = read[0]![1].at(-1)![0]
      if (wokenAgain) await stores.wakeups.wake(t)
      const { fence } = await stores.runs.claim(t)
      const outcome = await stores.runs.commit(t, r.id, {
        project: 'p1',
        fence,
        from: ['queued'],
        run: { status: 'cancelled' },
        release: true,
        pop: `run:${r.id}`,
        letGo: entry,
      })
      const pending = ((await fx.redis.xpending(stream, DRAIN_GROUP, '-', '+', 100)) as [string][]).map(([id]) => id)
      if (wokenAgain) {
        expect(outcome).toMatchObject({ ok: true, next: null })
        expect(outcome.ok && outcome.released).toBeFalsy()
        expect(await fx.redis.get(stores.keys.wake(t))).toBe(`${entry}+`)
        expect(pending).toContain(entry)
      } else {
        expect(outcome).toMatchObject({ ok: true, next: null, released: true })
        expect(await fx.redis.exists(stores.keys.wake(t))).toBe(0)
        expect(pending).not.toContain(entry)
      }
    }
  })

  it("keeps a turn's run out of the deadlines set while driven; it joins the set when it parks and leaves it at its end", async () => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
    const { thread } = await stores.threads.create('p1')
    const deadlines = stores.keys.shardDeadlines(thread.id)
    const startTurn = async () => {
      const started = await startTurnRun(assistant, thread.id)
      return { ...started, member: `${thread.id}/${started.run.id}` }
    }

    // Driven to its end: never in the set.
    const plain = await startTurn()
    expect(await fx.redis.zscore(deadlines, plain.member)).toBeNull()
    await stores.runs.commit(thread.id, plain.run.id, {
      project: 'p1',
      fence: plain.fence,
      from: ['in_progress'],
      run: { status: 'completed' },
      release: true,
      pop: plain.item,
    })

    // Parked: nobody drives it, so the sweep must see it, at its expires_at; its end removes it.
    const parked = await startTurn()
    expect(await fx.redis.zscore(deadlines, parked.member)).toBeNull()
    await stores.runs.commit(thread.id, parked.run.id, { project: 'p1', fence: parked.fence, from: ['in_progress'], run: { status: 'requires_action' } })
    expect(Number(await fx.redis.zscore(deadlines, parked.member))).toBe(parked.run.expires_at! * 1000)
    await stores.runs.commit(thread.id, parked.run.id, {
      project: 'p1',
      from: ['requires_action'],
      run: { status: 'expired' },
      release: true,
      pop: parked.item,
    })
    expect(await fx.redis.zscore(deadlines, parked.member)).toBeNull()

    // A run created through the Assistants API is in the set from its creation, as before, and leaves it at its end.
    const r = newRun({ id: newId('run'), threadId: thread.id, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
    await stores.runs.create('p1', r, [])
    expect(await fx.redis.zscore(deadlines, `${thread.id}/${r.id}`)).not.toBeNull()
    await stores.runs.commit(thread.id, r.id, { project: 'p1', from: ['queued'], run: { status: 'cancelled' }, release: true, pop: `run:${r.id}` })
    expect(await fx.redis.zscore(deadlines, `${thread.id}/${r.id}`)).toBeNull()
  })
})

describe("a run on a thread: OpenAI's empty code_interpreter entry in its tool_resources (createRun-5, startTurn-7)", () => {
  const stored: (ToolResources | null)[] = [
    {},
    null,
    { file_search: { vector_store_ids: ['vs_1'] } },
    { code_interpreter: { file_ids: ['file-1'] } },
    { code_interpreter: { file_ids: [] }, file_search: { vector_store_ids: ['vs_1'] } },
  ]

  /** A thread whose stored tool_resources are `tr` exactly (null too, as a modify once stored it). */
  async function threadWith(tr: ToolResources | null) {
    const { thread } = await stores.threads.create('p1')
    await fx.redis.hset(stores.keys.thread(thread.id), 'tool_resources', JSON.stringify(tr))
    return thread.id
  }

  it.each(stored.map((tr) => [JSON.stringify(tr), tr] as const))('runs.create on %s: the domain rule, JSON the schema reads', async (_name, tr) => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
    const threadId = await threadWith(tr)
    const run = newRun({ id: newId('run'), threadId, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
    await stores.runs.create('p1', run, [])
    expect((await stores.threads.get('p1', threadId)).tool_resources).toEqual(threadToolResourcesForRun(tr))
  })

  it.each(stored.map((tr) => [JSON.stringify(tr), tr] as const))('a turn started on %s: the same', async (_name, tr) => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
    const threadId = await threadWith(tr)
    await startTurnRun(assistant, threadId)
    expect((await stores.threads.get('p1', threadId)).tool_resources).toEqual(threadToolResourcesForRun(tr))
  })

  it('a run refused (another holds the thread) or on another project’s thread leaves it as it was', async () => {
    const assistant = await stores.assistants.create('p1', { model: 'fake-model' })
    const threadId = await threadWith({})
    await fx.redis.hset(stores.keys.thread(threadId), '_active_run', 'run_other')
    const run = newRun({ id: newId('run'), threadId, assistant, settings: {}, createdAt: nowSeconds(), expiresAfterSeconds: 600 })
    await expect(stores.runs.create('p1', run, [])).rejects.toThrow(/run_other/)
    await expect(stores.runs.create('p2', run, [])).rejects.toThrow()
    expect(await fx.redis.hget(stores.keys.thread(threadId), 'tool_resources')).toBe('{}')
  })
})
