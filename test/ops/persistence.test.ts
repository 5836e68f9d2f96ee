/**
 * "2xx means on disk", on two servers: this machine's Redis 7.0 (no WAITAOF, so the shipped
 * `appendfsync always`) and Valkey 8 (Redis protocol 7.2+: the API waits for `WAITAOF` before it
 * answers, so `appendfsync everysec` is enough). A server of the test's own, the API and a worker
 * process on it, a burst of accepted writes, SIGKILL of the server in the middle of the burst, a
 * restart on the same data dir — and every write that was answered 2xx is there. While it is down
 * the API answers 503 at once with OpenAI's error body; API and worker recover by themselves.
 *
 * What a process kill cannot show: the fsync itself. The server hands each write to the kernel
 * before replying, so a SIGKILL loses nothing under any fsync policy (measured: with durable writes
 * off, everysec passes the burst too); only an OS crash would. So on Valkey the test also counts
 * the server's WAITAOF calls: every write acknowledged before the kill must have waited for one.
 */
import { detectDurability } from '@threadwork/storage'
import {
  type ApiServer,
  type FakeUpstream,
  type RedisServer,
  type ServiceProcess,
  startApiServer,
  startFakeUpstream,
  startRedisServer,
  startServiceProcess,
} from '@threadwork/test-utils'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VALKEY, ensureValkey } from './valkey.js'

const valkey = ensureValkey()
if (!valkey.ok) console.warn(`Skipping the WAITAOF persistence test: ${valkey.reason}`)

interface Server {
  name: string
  binary: string
  appendfsync: 'always' | 'everysec'
  mode: 'fsync-always' | 'waitaof'
  available: boolean
}
const servers: Server[] = [
  { name: 'Redis 7.0, appendfsync always', binary: 'redis-server', appendfsync: 'always', mode: 'fsync-always', available: true },
  { name: 'Valkey 8, WAITAOF, appendfsync everysec', binary: VALKEY, appendfsync: 'everysec', mode: 'waitaof', available: valkey.ok },
]

describe.each(servers)('persistence on $name: 2xx means on disk', (server) => {
  let redis: RedisServer
  let upstream: FakeUpstream
  let api: ApiServer
  let worker: ServiceProcess
  let client: OpenAI

  beforeAll(async () => {
    if (!server.available) return
    redis = await startRedisServer({
      binary: server.binary,
      args: ['--appendonly', 'yes', '--appendfsync', server.appendfsync, '--maxmemory-policy', 'noeviction'],
    })
    upstream = await startFakeUpstream()
    api = await startApiServer({ redisUrl: redis.url, upstreamBaseURL: upstream.baseURL, operations: { durableWrites: 'auto' } })
    worker = await startServiceProcess('worker', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: api.prefix,
      UPSTREAM_BASE_URL: upstream.baseURL,
      UPSTREAM_API_KEY: 'x',
      WORKER_LOCK_MS: '2000',
    })
    client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0, timeout: 10_000 })
  }, 180_000)

  afterAll(async () => {
    worker?.kill('SIGKILL')
    await api?.close().catch(() => {})
    await upstream?.close()
    await redis?.cleanup()
  })

  const raw = async (method: string, path: string, body?: unknown) => {
    const started = performance.now()
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return {
      status: res.status,
      body: (await res.json().catch(() => null)) as { error?: { type: string; code: string | null; message: string } } | null,
      ms: performance.now() - started,
    }
  }

  describe.skipIf(!server.available)('', () => {
    it('picks the durability mode this server allows', async () => {
      const info = await detectDurability(api.redis)
      expect(info.mode).toBe(server.mode)
      expect(info.appendfsync).toBe(server.appendfsync)
    })

    it('keeps every accepted message, run and turn across a Redis SIGKILL, answers 503 while down, recovers by itself', async () => {
      const assistant = await client.beta.assistants.create({ model: 'fake-model' })
      const threads = await Promise.all(Array.from({ length: 8 }, () => client.beta.threads.create()))
      // Slow answers: runs are still in flight when Redis dies.
      upstream.respond(() => ({ kind: 'text', text: 'answered', firstTokenDelayMs: 300 }))

      const accepted = {
        messages: [] as { thread: string; id: string }[],
        runs: [] as { thread: string; id: string }[],
        turns: [] as { thread: string; id: string }[],
      }
      let killed = false
      let failures = 0
      const burst: Promise<void>[] = []
      let waitaofCalls = 0
      let acceptedBeforeStats = 0
      const acceptedCount = () => accepted.messages.length + accepted.runs.length + accepted.turns.length
      const send = (i: number) =>
        (async () => {
          const thread = threads[i % threads.length]!.id
          const kind = i < 8 ? 'run' : i % 2 === 0 ? 'message' : 'turn'
          const res =
            kind === 'run'
              ? await raw('POST', `/v1/threads/${thread}/runs`, { assistant_id: assistant.id })
              : kind === 'message'
                ? await raw('POST', `/v1/threads/${thread}/messages`, { role: 'user', content: `burst ${i}` })
                : await raw('POST', `/v1/threads/${thread}/turns`, { assistant_id: assistant.id, content: `turn ${i}` })
          const id = (res.body as { id?: string } | null)?.id
          if (res.status >= 200 && res.status < 300 && id) {
            // A message may be refused while the thread has an active run (400): that is not an acceptance.
            ;(kind === 'run' ? accepted.runs : kind === 'message' ? accepted.messages : accepted.turns).push({ thread, id })
          } else failures++
        })()
      // Redis dies in the middle of the burst: once 20 writes were acknowledged (a condition, not a
      // delay: a loaded machine acknowledges later), while requests keep coming every 5 ms until 40
      // more were sent after the kill.
      const killer = (async () => {
        const deadline = Date.now() + 60_000
        while (acceptedCount() < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
        // How many acknowledgements waited for the fsync (INFO is gone with the process).
        acceptedBeforeStats = acceptedCount()
        const stats = await api.redis.info('commandstats').catch(() => '')
        waitaofCalls = Number(/cmdstat_waitaof:calls=(\d+)/.exec(stats)?.[1] ?? 0)
        await redis.kill()
        killed = true
      })()
      let sentAfterKill = 0
      for (let i = 0; sentAfterKill < 40 && i < 20_000; i++) {
        if (killed) sentAfterKill++
        burst.push(send(i))
        await new Promise((r) => setTimeout(r, 5))
      }
      await killer
      await Promise.all(burst)
      expect(killed).toBe(true)
      expect(accepted.messages.length + accepted.turns.length).toBeGreaterThan(10)
      if (server.mode === 'waitaof') {
        expect(acceptedBeforeStats).toBeGreaterThan(10)
        expect(waitaofCalls).toBeGreaterThanOrEqual(acceptedBeforeStats)
      }
      expect(failures).toBeGreaterThan(0)

      // Down: quick 503s with OpenAI's body, readiness off.
      for (const [method, path, body] of [
        ['GET', `/v1/threads/${threads[0]!.id}`],
        ['POST', '/v1/threads', {}],
        ['POST', `/v1/threads/${threads[1]!.id}/messages`, { role: 'user', content: 'x' }],
      ] as const) {
        const res = await raw(method, path, body)
        expect(res.status, `${method} ${path}`).toBe(503)
        // At once, not after a Redis timeout (seconds); bounded loosely for a loaded machine.
        expect(res.ms).toBeLessThan(5000)
        expect(res.body?.error).toMatchObject({ type: 'server_error', code: 'service_unavailable' })
      }
      expect((await fetch(`${api.url}/readyz`)).status).toBe(503)

      await redis.restart()
      // Everything reconnects on its own.
      await expect.poll(async () => (await raw('POST', '/v1/threads', {})).status, { timeout: 30_000, interval: 200 }).toBe(200)
      expect((await fetch(`${api.url}/readyz`)).status).toBe(200)

      for (const m of accepted.messages) expect((await raw('GET', `/v1/threads/${m.thread}/messages/${m.id}`)).status, m.id).toBe(200)
      for (const r of accepted.runs) expect((await raw('GET', `/v1/threads/${r.thread}/runs/${r.id}`)).status, r.id).toBe(200)
      for (const t of accepted.turns) expect((await raw('GET', `/v1/threads/${t.thread}/turns/${t.id}`)).status, t.id).toBe(200)

      // The worker reconnected too: the accepted work runs to the end.
      upstream.respond(() => ({ kind: 'text', text: 'answered' }))
      for (const r of accepted.runs) {
        const run = await client.beta.threads.runs.poll(r.id, { thread_id: r.thread }, { pollIntervalMs: 200 })
        expect(run.status, r.id).toBe('completed')
      }
      await expect
        .poll(
          async () => {
            const states = await Promise.all(
              accepted.turns.map(async (t) => ((await raw('GET', `/v1/threads/${t.thread}/turns/${t.id}`)).body as { status?: string } | null)?.status),
            )
            return states.filter((s) => s !== 'completed')
          },
          { timeout: 40_000, interval: 500 },
        )
        .toEqual([])
      const fresh = await client.beta.threads.createAndRunPoll(
        { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: 'after the crash' }] } },
        { pollIntervalMs: 200 },
      )
      expect(fresh.status).toBe('completed')
    }, 180_000)
  })
})
