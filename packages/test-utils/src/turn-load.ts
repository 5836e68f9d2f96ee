import type { FakeUpstream } from './fake-upstream-types.js'

/** A turn as the API returns it (the fields the load checks read). */
export interface LoadTurn {
  id: string
  thread_id: string
  status: string
  message_id: string
  run_id: string
}

export interface TurnLoadOptions {
  /** The API's `/v1` base URL and a key. */
  baseURL: string
  apiKey: string
  assistantId: string
  threads: number
  turnsPerThread: number
  /** Give up waiting for the turns after this long (default 120 s). */
  timeoutMs?: number
  /**
   * Resolves true once every turn is likely done (e.g. the fake upstream answered them all), so
   * the load is not slowed by its own status polling; the API is then polled to confirm.
   * Default: poll the API every 50 ms from the start.
   */
  likelyDone?: () => Promise<boolean>
}

export interface TurnLoadResult {
  threads: { id: string; turns: LoadTurn[] }[]
  /** Milliseconds from the first turn posted to the last one finished. */
  elapsedMs: number
  total: number
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired', 'incomplete'])

/**
 * Posts `turnsPerThread` turns on each of `threads` new threads, round by round (turn r of every
 * thread, then turn r+1: so each thread's turns are accepted in order while all threads are busy at
 * once), then waits until every turn has finished. Content is `t<thread> q<round>`.
 */
export async function runTurnLoad(opts: TurnLoadOptions): Promise<TurnLoadResult> {
  const headers = { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' }
  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${opts.baseURL}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const json = (await res.json()) as T
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`)
    return json
  }
  const threads = await Promise.all(
    Array.from({ length: opts.threads }, async () => ({ id: (await request<{ id: string }>('POST', '/threads', {})).id, turns: [] as LoadTurn[] })),
  )
  const start = performance.now()
  for (let r = 1; r <= opts.turnsPerThread; r++) {
    await Promise.all(
      threads.map(async (t, i) => {
        t.turns.push(await request<LoadTurn>('POST', `/threads/${t.id}/turns`, { assistant_id: opts.assistantId, content: `t${i} q${r}` }))
      }),
    )
  }
  // Wait for the last turn of each thread (turns of a thread finish in order).
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000)
  while (opts.likelyDone && !(await opts.likelyDone()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  let open = threads
  while (open.length > 0) {
    if (Date.now() > deadline) throw new Error(`${open.length} threads still had unfinished turns after ${opts.timeoutMs ?? 120_000} ms`)
    const states = await Promise.all(open.map((t) => request<LoadTurn>('GET', `/threads/${t.id}/turns/${t.turns.at(-1)!.id}`)))
    open = open.filter((_, i) => !TERMINAL.has(states[i]!.status))
    if (open.length > 0) await new Promise((r) => setTimeout(r, 50))
  }
  const elapsedMs = performance.now() - start
  return { threads, elapsedMs, total: opts.threads * opts.turnsPerThread }
}

/**
 * Checks a finished {@link runTurnLoad} against the API and the fake upstream's record; returns
 * every problem found (empty: all good):
 * - every turn `completed`, each thread's messages alternating user/assistant in turn order, each
 *   answer written by its turn's run and having seen exactly the history before it;
 * - per thread, the model calls were made in turn order and never overlapped (`overlaps` empty);
 * - every run called the model exactly once (no turn ran twice, none was skipped).
 */
export async function verifyTurnLoad(result: TurnLoadResult, upstream: FakeUpstream, opts: Pick<TurnLoadOptions, 'baseURL' | 'apiKey'>): Promise<string[]> {
  const problems: string[] = []
  const headers = { authorization: `Bearer ${opts.apiKey}` }
  if (upstream.overlaps.length > 0) {
    problems.push(`${upstream.overlaps.length} overlapping model calls on one thread, e.g. ${upstream.overlaps[0]!.threadId}`)
  }
  const callsByRun = new Map<string, number>()
  for (const r of upstream.requests) if (r.runId && r.outcome === 'completed') callsByRun.set(r.runId, (callsByRun.get(r.runId) ?? 0) + 1)

  await Promise.all(
    result.threads.map(async (t, ti) => {
      const [turns, messages] = await Promise.all([
        fetch(`${opts.baseURL}/threads/${t.id}/turns?order=asc&limit=100`, { headers }).then((r) => r.json() as Promise<{ data: LoadTurn[] }>),
        fetch(`${opts.baseURL}/threads/${t.id}/messages?order=asc&limit=100`, { headers }).then(
          (r) => r.json() as Promise<{ data: { id: string; role: string; run_id: string | null; content: { text?: { value: string } }[] }[] }>,
        ),
      ])
      const statuses = turns.data.map((x) => x.status)
      if (statuses.some((s) => s !== 'completed')) problems.push(`${t.id}: turn statuses ${statuses.join(',')}`)
      if (messages.data.length !== t.turns.length * 2) problems.push(`${t.id}: ${messages.data.length} messages, expected ${t.turns.length * 2}`)
      t.turns.forEach((turn, i) => {
        const question = messages.data[i * 2]
        const answer = messages.data[i * 2 + 1]
        if (question?.id !== turn.message_id || question.role !== 'user') problems.push(`${t.id}: message ${i * 2} is not turn ${i + 1}'s question`)
        const expected = `Echo: t${ti} q${i + 1} [context: ${i * 2 + 1} messages]`
        if (answer?.role !== 'assistant' || answer.run_id !== turn.run_id || answer.content[0]?.text?.value !== expected) {
          problems.push(
            `${t.id}: answer ${i + 1} is ${JSON.stringify(answer?.content[0]?.text?.value)} by ${answer?.run_id}, expected ${JSON.stringify(expected)} by ${turn.run_id}`,
          )
        }
        const calls = callsByRun.get(turn.run_id) ?? 0
        if (calls !== 1) problems.push(`${t.id}: run ${turn.run_id} called the model ${calls} times`)
      })
      const order = upstream.requests
        .filter((r) => r.threadId === t.id && r.outcome === 'completed')
        .sort((a, b) => a.startedAt - b.startedAt)
        .map((r) => r.runId)
      const want = t.turns.map((x) => x.run_id)
      if (order.join() !== want.join()) problems.push(`${t.id}: model calls in order ${order.join()}, turns in order ${want.join()}`)
    }),
  )
  return problems
}
