import { NO_SANDBOX_MESSAGE, SandboxUnavailableError, createSandboxClient, sandboxKeys } from '@threadwork/sandbox-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SandboxHarness, logsOf, sandboxSkipReason, startSandboxHarness } from './test-harness.js'

const skip = sandboxSkipReason()
if (skip) console.warn(`skipping sandbox tests: ${skip}`)
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

describe.skipIf(skip !== null)('sandbox service: real kernels in real bubblewrap', () => {
  let h: SandboxHarness
  beforeAll(async () => {
    h = await startSandboxHarness()
  }, 15 * 60_000)
  afterAll(async () => {
    await h?.close()
  })

  it('runs arithmetic and returns its output as logs', async () => {
    const streamed: unknown[] = []
    const r = await h.client.execute({ sessionKey: 'arith', code: 'print(6 * 7)\n2 ** 10', onOutput: (o) => streamed.push(o) })
    expect(r.status).toBe('ok')
    expect(r.outputs).toEqual([{ type: 'logs', logs: '42\n1024\n' }])
    expect(streamed).toEqual([
      { type: 'logs', logs: '42\n' },
      { type: 'logs', logs: '1024\n' },
    ])
    expect(r.sessionRestarted).toBe(false)
    expect(r.notice).toBeUndefined()
  })

  it('keeps variables and imports between executions of a session, and not across sessions', async () => {
    await h.client.execute({ sessionKey: 'state-a', code: 'import math\nradius = 3' })
    const same = await h.client.execute({ sessionKey: 'state-a', code: 'print(round(math.pi * radius ** 2, 2))' })
    expect(logsOf(same)).toBe('28.27\n')
    const other = await h.client.execute({ sessionKey: 'state-b', code: 'print(radius)' })
    expect(other.status).toBe('error')
    expect(logsOf(other)).toContain("NameError: name 'radius' is not defined")
  })

  it('returns a matplotlib chart shown with plt.show() as an image output', async () => {
    const code = 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title("squares")\nplt.show()'
    const r = await h.client.execute({ sessionKey: 'chart', code })
    expect(r.status).toBe('ok')
    const images = r.outputs.filter((o) => o.type === 'image')
    expect(images).toHaveLength(1)
    const png = (images[0] as { png: Buffer }).png
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true)
    expect(png.length).toBeGreaterThan(1000)
  })

  it('puts input files in /mnt/data and returns files the code writes there', async () => {
    const csv = Buffer.from('city,temp\nOslo,3\nLima,19\nCairo,24\n')
    const code = [
      'import pandas as pd',
      "df = pd.read_csv('/mnt/data/weather.csv')",
      'print(df.temp.mean())',
      "df[df.temp > 10].to_csv('/mnt/data/warm.csv', index=False)",
      "_ = open('/mnt/data/notes.txt', 'w').write('two warm cities')",
    ].join('\n')
    const r = await h.client.execute({ sessionKey: 'files', code, files: [{ name: 'weather.csv', bytes: csv }] })
    expect(logsOf(r)).toBe('15.333333333333334\n')
    const byName = Object.fromEntries(r.files.map((f) => [f.name, f.bytes.toString()]))
    // The input is not returned (unchanged); the two new files are.
    expect(Object.keys(byName).sort()).toEqual(['notes.txt', 'warm.csv'])
    expect(byName['warm.csv']).toBe('city,temp\nLima,19\nCairo,24\n')
    // Files persist in the session; an unchanged one is not returned again, a changed one is.
    const again = await h.client.execute({ sessionKey: 'files', code: "import os\nprint(sorted(os.listdir('/mnt/data')))\n_ = open('/mnt/data/notes.txt','a').write('!')" })
    expect(logsOf(again)).toBe("['notes.txt', 'warm.csv', 'weather.csv']\n")
    expect(again.files.map((f) => [f.name, f.bytes.toString()])).toEqual([['notes.txt', 'two warm cities!']])
  })

  it('returns a traceback as logs (ANSI colours stripped) and keeps the session', async () => {
    const r = await h.client.execute({ sessionKey: 'tb', code: 'x = 1\ndef f():\n    return 1 / 0\nf()' })
    expect(r.status).toBe('error')
    const logs = logsOf(r)
    expect(logs).toContain('ZeroDivisionError')
    expect(logs).toContain('Traceback (most recent call last)')
    expect(logs).not.toContain('\u001b[')
    const next = await h.client.execute({ sessionKey: 'tb', code: 'print(x + 1)' })
    expect(logsOf(next)).toBe('2\n')
  })

  it('interrupts an endless loop at the time limit and says so; the session is kept', async () => {
    await h.client.execute({ sessionKey: 'loop', code: 'kept = "yes"' })
    const r = await h.client.execute({ sessionKey: 'loop', code: 'print("start", flush=True)\nwhile True:\n    pass', timeoutMs: 2_000 })
    expect(r.status).toBe('timeout')
    expect(logsOf(r)).toContain('start\n')
    expect(logsOf(r)).toContain('TimeoutError: the execution exceeded its 2 s limit and was interrupted')
    expect(logsOf(r)).not.toContain('KeyboardInterrupt')
    const next = await h.client.execute({ sessionKey: 'loop', code: 'print(kept)' })
    expect(logsOf(next)).toBe('yes\n')
  })

  it('an aborted signal interrupts the running execution (run cancelled / expired)', async () => {
    const controller = new AbortController()
    const pending = h.client.execute({
      sessionKey: 'abort',
      code: 'import time\nprint("working", flush=True)\ntime.sleep(120)',
      signal: controller.signal,
      onOutput: (o) => {
        if (o.type === 'logs' && o.logs.includes('working')) controller.abort()
      },
    })
    const r = await pending
    expect(r.status).toBe('cancelled')
    expect(logsOf(r)).toContain('[execution cancelled]')
    const next = await h.client.execute({ sessionKey: 'abort', code: 'print("still here")' })
    expect(logsOf(next)).toBe('still here\n')
    expect(next.sessionRestarted).toBe(false)
  })

  it('a killed kernel is reported as the output, and the next call gets a fresh session that says so', async () => {
    await h.client.execute({ sessionKey: 'die', code: 'secret = 41' })
    const r = await h.client.execute({ sessionKey: 'die', code: 'import os\nos.kill(os.getpid(), 9)' })
    expect(r.status).toBe('died')
    expect(logsOf(r)).toContain('The Python kernel died (the Python kernel was killed by signal 9)')
    expect(logsOf(r)).toContain('the next call starts a fresh session')
    const next = await h.client.execute({ sessionKey: 'die', code: "print('secret' in globals())" })
    expect(logsOf(next)).toBe('False\n')
    expect(next.sessionRestarted).toBe(true)
    expect(next.notice).toContain('fresh session')
    const after = await h.client.execute({ sessionKey: 'die', code: 'print(1)' })
    expect(after.sessionRestarted).toBe(false)
  })

  it('cuts runaway output with a note', async () => {
    const r = await h.client.execute({ sessionKey: 'flood', code: "for i in range(50_000):\n    print('x' * 99)" })
    const logs = logsOf(r)
    expect(logs.length).toBeLessThan(h.env.SANDBOX_MAX_OUTPUT_CHARS + 500)
    expect(logs).toMatch(/\[output truncated: \d+ more characters of output not shown\]/)
  })

  it('starts a new session from a prewarmed sandbox and starts another spare', async () => {
    await expect.poll(() => h.server.pool.readySpares, { timeout: 120_000 }).toBe(1)
    const before = h.server.pool.fromSpare
    const r = await h.client.execute({ sessionKey: 'from-spare', code: 'import os\nprint(os.getcwd(), sorted(os.listdir(".")))' })
    expect(logsOf(r)).toBe('/mnt/data []\n')
    expect(h.server.pool.fromSpare).toBe(before + 1)
    await expect.poll(() => h.server.pool.readySpares, { timeout: 120_000 }).toBe(1)
  }, 300_000)

  it('refuses requests without the token', async () => {
    const noToken = await fetch(`${h.server.url}/v1/execute`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(noToken.status).toBe(401)
    const wrong = createSandboxClient({ redis: h.fixture.redis, keyPrefix: h.fixture.prefix, token: 'not-the-token-at-all' })
    await expect(wrong.execute({ sessionKey: 'x', code: '1' })).rejects.toThrow(/answered 401/)
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200)
  })

  it('a session whose host is lost continues on another host, in a fresh session, and says so', async () => {
    // Pin the session to a second host, then take that host away.
    const second = await h.startAnother()
    const keys = sandboxKeys(h.fixture.prefix)
    await h.fixture.redis.set(keys.session('moving'), second.url)
    const first = await h.client.execute({ sessionKey: 'moving', code: 'where = "second"\nprint(where)' })
    expect(logsOf(first)).toBe('second\n')
    expect(await h.fixture.redis.get(keys.session('moving'))).toBe(second.url)
    await second.close()
    const moved = await h.client.execute({ sessionKey: 'moving', code: "print('where' in globals())" })
    expect(logsOf(moved)).toBe('False\n')
    expect(moved.sessionRestarted).toBe(true)
    expect(moved.notice).toMatch(/host that held this session is gone/)
    expect(await h.fixture.redis.get(keys.session('moving'))).toBe(h.server.url)
  })

  it('a host restarted at the same address reports the session as restarted', async () => {
    await h.client.execute({ sessionKey: 'restart', code: 'v = 1' })
    h.server.pool.end('restart') // as if the host process had restarted: the record stays, the session is gone
    const r = await h.client.execute({ sessionKey: 'restart', code: "print('v' in globals())" })
    expect(logsOf(r)).toBe('False\n')
    expect(r.sessionRestarted).toBe(true)
    expect(r.notice).toContain('host restarted')
  })
})

describe('sandbox client without any host', () => {
  it('throws SandboxUnavailableError naming what to install', async () => {
    const { createRedisFixture } = await import('@threadwork/test-utils')
    const f = await createRedisFixture('sbx')
    try {
      const client = createSandboxClient({ redis: f.redis, keyPrefix: f.prefix, token: 'x'.repeat(16) })
      const err = await client.execute({ sessionKey: 'k', code: '1' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SandboxUnavailableError)
      expect((err as Error).message).toBe(NO_SANDBOX_MESSAGE)
      expect((err as Error).message).toContain('apt-get install -y python3 python3-venv bubblewrap')
      // A recorded reason (set by `pnpm start` or a host whose self-check failed) wins.
      await f.redis.set(sandboxKeys(f.prefix).unavailable, 'code_interpreter is unavailable: bwrap not found.')
      await expect(client.execute({ sessionKey: 'k', code: '1' })).rejects.toThrow('code_interpreter is unavailable: bwrap not found.')
      // Already cancelled: nothing is run (or looked up), whatever the hosts.
      expect(await client.execute({ sessionKey: 'k', code: '1', signal: AbortSignal.abort() })).toEqual({ outputs: [], files: [], sessionRestarted: false, status: 'cancelled' })
      await expect(client.execute({ sessionKey: 'has space', code: '1' })).rejects.toBeInstanceOf(TypeError)
    } finally {
      await f.cleanup()
    }
  })
})
