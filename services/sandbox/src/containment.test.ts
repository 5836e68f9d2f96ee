import { readFileSync, readdirSync } from 'node:fs'
import { URL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type SandboxHarness, logsOf, repoRoot, sandboxSkipReason, startSandboxHarness } from './test-harness.js'

/** Host uids of processes whose command line contains `needle` (read from the host's /proc). */
function hostUidsOf(needle: string): number[] {
  const uids: number[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) continue
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
      if (uid !== undefined) uids.push(Number(uid))
    } catch {
      // exited meanwhile
    }
  }
  return uids
}

const skip = sandboxSkipReason()
if (skip) console.warn(`skipping sandbox containment tests: ${skip}`)

/**
 * Escape attempts against real bubblewrap sandboxes. Each is contained, and afterwards the
 * service is healthy: /healthz answers and a fresh session runs code (afterEach).
 */
describe.skipIf(skip !== null)('sandbox containment', () => {
  let h: SandboxHarness
  const SECRET = `tw-secret-${Math.random().toString(36).slice(2)}`
  beforeAll(async () => {
    // A secret in the service's own environment must never reach a sandbox.
    process.env.THREADWORK_TEST_SECRET = SECRET
    h = await startSandboxHarness({ SANDBOX_DISK_MB: '32', SANDBOX_TMP_MB: '32', SANDBOX_MEMORY_MB: '1024', SANDBOX_MAX_PROCESSES: '32' })
  }, 15 * 60_000)
  afterAll(async () => {
    delete process.env.THREADWORK_TEST_SECRET
    await h?.close()
  })
  afterEach(async () => {
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200)
    const probe = await h.client.execute({ sessionKey: `probe-${Math.random()}`, code: 'print(20 + 22)' })
    expect(logsOf(probe)).toBe('42\n')
  })

  const run = (sessionKey: string, code: string, timeoutMs?: number) => h.client.execute({ sessionKey, code, ...(timeoutMs ? { timeoutMs } : {}) })

  it('has no network: loopback Redis, the sandbox service itself and outside addresses are unreachable', async () => {
    const port = new URL(h.server.url).port
    const code = [
      'import socket',
      `for host, port in [("127.0.0.1", 6379), ("127.0.0.1", ${port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:`,
      '    try:',
      '        socket.create_connection((host, port), timeout=3).close()',
      '        print(host, port, "CONNECTED")',
      '    except OSError as e:',
      '        print(host, port, "blocked", type(e).__name__)',
      'try:',
      '    socket.getaddrinfo("example.com", 80)',
      '    print("dns CONNECTED")',
      'except OSError as e:',
      '    print("dns blocked")',
      'import os',
      'print(sorted(os.listdir("/sys/class/net")) if os.path.exists("/sys/class/net") else "no /sys")',
    ].join('\n')
    const logs = logsOf(await run('net', code))
    expect(logs).not.toContain('CONNECTED')
    expect(logs).toContain('127.0.0.1 6379 blocked ConnectionRefusedError')
    expect(logs).toContain(`127.0.0.1 ${port} blocked ConnectionRefusedError`)
    expect(logs).toMatch(/1\.1\.1\.1 53 blocked/)
    expect(logs).toContain('dns blocked')
  })

  it('cannot read host secrets: /etc/shadow, /proc/1/environ, the project .env; runs as an unprivileged uid', async () => {
    const code = [
      'import os, glob',
      'def attempt(path):',
      '    try:',
      '        with open(path, "rb") as f:',
      '            data = f.read()',
      '        print(path, "READ", len(data))',
      '        return data',
      '    except OSError as e:',
      '        print(path, "denied", type(e).__name__)',
      '        return b""',
      'attempt("/etc/shadow")',
      'attempt("/etc/gshadow")',
      `attempt(${JSON.stringify(`${repoRoot}.env`)})`,
      `attempt(${JSON.stringify(`${repoRoot}package.json`)})`,
      'environ = b"".join(open(p, "rb").read() for p in glob.glob("/proc/[0-9]*/environ"))',
      'print("pid1 env:", open("/proc/1/environ", "rb").read().split(b"\\0"))',
      `print("secret leaked:", ${JSON.stringify(SECRET)}.encode() in environ or b"SANDBOX_TOKEN" in environ)`,
      'print("uid", os.getuid(), os.geteuid())',
      'print("uid_map", open("/proc/self/uid_map").read().split())',
      `print("repo dir:", sorted(os.listdir(${JSON.stringify(repoRoot)})))`,
    ].join('\n')
    const logs = logsOf(await run('secrets', code))
    expect(logs).not.toContain('READ')
    expect(logs).toContain('/etc/shadow denied')
    expect(logs).toContain(`${repoRoot}.env denied`)
    expect(logs).toContain("pid1 env: [b'PATH=/usr/sbin:/usr/bin:/sbin:/bin', b'']")
    expect(logs).toContain('secret leaked: False')
    expect(logs).toContain('uid 1000 1000')
    if (process.getuid?.() === 0) {
      // Started by root, bwrap would map the sandbox to host root; we drop to the session's own
      // uid first. Seen from the host: the session's kernel runs as base + slot, never as root.
      await run('secrets', 'import time')
      const uids = hostUidsOf('ipykernel_launcher')
      expect(uids.length).toBeGreaterThan(0)
      expect(uids).not.toContain(0)
      expect(uids.some((u) => u >= h.env.SANDBOX_UID_BASE && u < h.env.SANDBOX_UID_BASE + h.env.SANDBOX_MAX_SESSIONS), `${uids} vs ${h.env.SANDBOX_UID_BASE}`).toBe(true)
    }
    // Only the venv's own directory is bound from the checkout (read-only, at its path).
    expect(logs).toContain("repo dir: ['.data']")
  })

  it("sees neither host processes nor another session's /mnt/data", async () => {
    await run('owner', "open('/mnt/data/private-report.txt', 'w').write('owner only')")
    const code = [
      'import os',
      'pids = [p for p in os.listdir("/proc") if p.isdigit()]',
      'cmds = [open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode(errors="replace") for p in pids]',
      'print("processes", len(pids), any("node" in c or "redis" in c for c in cmds))',
      'found = [os.path.join(d, f) for top in ["/mnt", "/tmp", "/home", "/var"] if os.path.exists(top) for d, _, fs in os.walk(top) for f in fs if "private-report" in f]',
      'print("found", found)',
      'print("data", os.listdir("/mnt/data"))',
    ].join('\n')
    const logs = logsOf(await run('intruder', code))
    const [, count, hostProc] = /processes (\d+) (True|False)/.exec(logs) ?? []
    expect(Number(count)).toBeLessThan(10)
    expect(hostProc).toBe('False')
    expect(logs).toContain('found []')
    expect(logs).toContain('data []')
  })

  it('contains a fork bomb (process limit, then the time limit ends the session)', async () => {
    const code = [
      'import os, time',
      'n = 0',
      'while True:',
      '    try:',
      '        if os.fork() == 0:',
      '            while True: time.sleep(1)',
      '        n += 1',
      '    except OSError:',
      '        print("fork refused after", n, flush=True)',
      '        break',
      'while True: pass',
    ].join('\n')
    const r = await run('forkbomb', code, 3_000)
    expect(logsOf(r)).toMatch(/fork refused after \d+/)
    const forked = Number(/fork refused after (\d+)/.exec(logsOf(r))?.[1])
    expect(forked).toBeLessThan(h.env.SANDBOX_MAX_PROCESSES)
    expect(r.status).toBe('timeout')
  })

  it('contains a memory bomb (MemoryError from the address-space limit; the session survives)', async () => {
    const code = ['blocks = []', 'try:', '    while True:', '        blocks.append(bytearray(50 * 1024 * 1024))', 'except MemoryError:', '    print("MemoryError after", len(blocks) * 50, "MB")', 'del blocks', 'kept = 1'].join('\n')
    const r = await run('membomb', code)
    const mb = Number(/MemoryError after (\d+) MB/.exec(logsOf(r))?.[1])
    expect(mb).toBeGreaterThan(0)
    expect(mb).toBeLessThanOrEqual(h.env.SANDBOX_MEMORY_MB)
    expect(logsOf(await run('membomb', 'print(kept)'))).toBe('1\n')
  })

  it('ends an endless loop at the time limit with a timeout output', async () => {
    const r = await run('spin', 'while True:\n    pass', 1_500)
    expect(r.status).toBe('timeout')
    expect(logsOf(r)).toContain('TimeoutError: the execution exceeded its 1.5 s limit')
  })

  it('an interrupt-proof loop is killed after the grace period; the next call is a fresh session', async () => {
    const code = 'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass'
    const r = await run('stubborn', code, 1_000)
    expect(r.status).toBe('timeout')
    expect(logsOf(r)).toContain('did not stop when interrupted, so its session was ended')
    const next = await run('stubborn', 'print(1)')
    expect(next.sessionRestarted).toBe(true)
    expect(next.notice).toContain('time limit')
  }, 180_000)

  it('contains filling the disk: /mnt/data and /tmp are size-limited', async () => {
    const code = [
      'import errno',
      'for path in ["/mnt/data/fill.bin", "/tmp/fill.bin"]:',
      '    written = 0',
      '    try:',
      '        with open(path, "wb") as f:',
      '            while True:',
      '                f.write(b"\\0" * (1 << 20))',
      '                written += 1',
      '    except OSError as e:',
      '        print(path, errno.errorcode.get(e.errno), written, "MB")',
      'import os',
      'os.remove("/tmp/fill.bin")',
    ].join('\n')
    const r = await run('disk', code)
    const logs = logsOf(r)
    const data = Number(/\/mnt\/data\/fill\.bin (?:ENOSPC|EFBIG) (\d+) MB/.exec(logs)?.[1])
    const tmp = Number(/\/tmp\/fill\.bin (?:ENOSPC|EFBIG) (\d+) MB/.exec(logs)?.[1])
    expect(data, logs).toBeLessThanOrEqual(32)
    expect(tmp, logs).toBeLessThanOrEqual(32)
    // The filled file (≤ 32 MiB) still comes back, within the per-call file budget.
    expect(r.files.map((f) => f.name)).toEqual(['fill.bin'])
    expect(logsOf(await run('disk', 'import os\nos.remove("/mnt/data/fill.bin")\nprint("freed")'))).toBe('freed\n')
  }, 120_000)

  it('killing the kernel is reported, and the next call gets a fresh session', async () => {
    await run('suicide', 'x = 5')
    const r = await run('suicide', 'import os\nos.kill(os.getpid(), 9)')
    expect(r.status).toBe('died')
    expect(logsOf(r)).toContain('The Python kernel died')
    const next = await run('suicide', "print('x' in globals())")
    expect(logsOf(next)).toBe('False\n')
    expect(next.sessionRestarted).toBe(true)
  })

  it('killing the whole sandbox from inside (pid 1) is reported and recovered from', async () => {
    const r = await run('pid1', 'import os, signal\nfor pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:\n    try: os.kill(pid, signal.SIGKILL)\n    except OSError: pass')
    expect(r.status).toBe('died')
    const next = await run('pid1', 'print("back")')
    expect(logsOf(next)).toBe('back\n')
    expect(next.sessionRestarted).toBe(true)
  })
})
