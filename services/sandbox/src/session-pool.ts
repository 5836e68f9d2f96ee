import type { WireFile, WireOutput, WireResultEvent } from '@threadwork/sandbox-client'
import type { ExecutionLimits } from './kernel-session.js'
import { KernelSession } from './kernel-session.js'

/** The pool has no room: every session slot is busy executing. */
export class PoolFullError extends Error {
  override name = 'PoolFullError'
}
/** A sandbox could not be started (bwrap or Python broken); the message says why. */
export class SessionStartError extends Error {
  override name = 'SessionStartError'
}

export interface SessionPoolOptions {
  /** The command that starts a session's sandbox, given its slot's uid (null: run as ourselves). */
  command: (uid: number | null) => { file: string; args: string[] }
  maxSessions: number
  idleTimeoutMs: number
  /** First per-session uid when we are root; null when not root. */
  uidBase: number | null
  startTimeoutMs?: number
  maxLineBytes: number
  /** Sandboxes kept started and unassigned, so a new session skips the kernel's start-up. */
  spares?: number
  log?: (msg: string, fields?: Record<string, unknown>) => void
}

interface Entry {
  key: string
  slot: number
  session: KernelSession
  ready: Promise<void>
  /** Executions of one session run one after another. */
  chain: Promise<unknown>
  busy: number
  lastUsed: number
}

interface Spare {
  slot: number
  session: KernelSession
  ready: Promise<void>
  started: boolean
}

const MAX_TOMBSTONES = 10_000
/** How long close() waits for sandboxes to exit before shutdown goes on without them (ms). */
const CLOSE_WAIT_MS = 15_000

/**
 * Sessions by key: created on first use, one execution at a time each, ended after idling.
 * A session that died or was ended leaves a tombstone with the reason, so the key's next call
 * is told its state is gone ({@link WireResultEvent.sessionRestarted} + notice).
 */
export class SessionPool {
  private readonly sessions = new Map<string, Entry>()
  private readonly tombstones = new Map<string, string>()
  private readonly freeSlots: number[]
  private readonly reaper: NodeJS.Timeout
  private spares: Spare[] = []
  /** A spare failed to start: make no more until a session starts fine (no respawn loop). */
  private sparesBroken = false
  private closed = false

  constructor(private readonly opts: SessionPoolOptions) {
    this.freeSlots = Array.from({ length: opts.maxSessions }, (_, i) => opts.maxSessions - 1 - i)
    this.reaper = setInterval(() => this.reapIdle(), Math.min(30_000, Math.max(1000, opts.idleTimeoutMs / 4)))
    this.reaper.unref()
    this.fillSpares()
  }

  get size(): number {
    return this.sessions.size
  }

  /** Spares whose kernel is up. */
  get readySpares(): number {
    return this.spares.filter((s) => s.started).length
  }

  /** Sessions that began as a spare (since start). */
  fromSpare = 0

  private fillSpares() {
    while (!this.closed && !this.sparesBroken && this.spares.length < (this.opts.spares ?? 0) && this.freeSlots.length > 0) {
      const slot = this.freeSlots.pop() as number
      const session = new KernelSession(this.opts.maxLineBytes)
      const uid = this.opts.uidBase === null ? null : this.opts.uidBase + slot
      const spare: Spare = { slot, session, ready: session.start(this.opts.command(uid), this.opts.startTimeoutMs ?? 120_000), started: false }
      spare.ready.then(
        () => {
          spare.started = true
        },
        () => undefined,
      )
      this.spares.push(spare)
      // A spare that dies unassigned gives its slot back, and is replaced only if it had started
      // fine (a sandbox that cannot start would otherwise respawn forever).
      void session.whenExited().then(() => {
        if (!this.spares.includes(spare)) return
        this.spares = this.spares.filter((x) => x !== spare)
        this.freeSlots.push(slot)
        if (!spare.started) this.sparesBroken = true
        this.fillSpares()
      })
    }
  }

  /** Whether a call for this key can run here now (its session exists, a slot is free, or an idle one can be evicted). */
  canAccept(sessionKey: string): boolean {
    if (this.sessions.has(sessionKey) || this.freeSlots.length > 0 || this.spares.length > 0) return true
    for (const e of this.sessions.values()) if (e.busy === 0 && e.slot >= 0) return true
    return false
  }

  /**
   * Runs code in the key's session (starting one if needed). `resume`: the caller recorded a
   * session for this key here, so if none is live the result says the session restarted.
   */
  async execute(
    req: { sessionKey: string; code: string; files: WireFile[]; resume: boolean },
    limits: ExecutionLimits,
    onOutput: (o: WireOutput) => void,
  ): Promise<Omit<WireResultEvent, 'type'>> {
    let entry = this.sessions.get(req.sessionKey)
    let sessionRestarted = false
    let notice: string | undefined
    if (!entry) {
      const tomb = this.tombstones.get(req.sessionKey)
      if (tomb !== undefined || req.resume) {
        sessionRestarted = true
        notice = `This ran in a fresh session because the previous one ended (${tomb ?? 'its sandbox host restarted'}): variables, imports and files in /mnt/data from earlier calls are gone.`
      }
      this.tombstones.delete(req.sessionKey)
      entry = this.create(req.sessionKey)
    }
    const e = entry
    e.busy++
    e.lastUsed = Date.now()
    const run = e.chain.then(async () => {
      try {
        await e.ready
      } catch (err) {
        this.remove(e)
        throw new SessionStartError(`Could not start a sandboxed Python kernel: ${(err as Error).message}`)
      }
      const outcome = await e.session.execute(req.code, req.files, limits, onOutput)
      if (outcome.ended) {
        this.remove(e)
        this.tomb(e.key, outcome.endReason ?? 'it ended')
      }
      return outcome
    })
    e.chain = run.catch(() => undefined)
    try {
      const outcome = await run
      return { status: outcome.status, files: outcome.files, sessionRestarted, ...(notice ? { notice } : {}) }
    } finally {
      e.busy--
      e.lastUsed = Date.now()
    }
  }

  /** Interrupts the key's running execution (run cancelled or expired); false when nothing runs. */
  interrupt(sessionKey: string, graceMs: number): boolean {
    const e = this.sessions.get(sessionKey)
    if (!e || e.busy === 0) return false
    e.session.interrupt('cancelled', graceMs)
    return true
  }

  /** Ends the key's session (thread deleted), with no tombstone. */
  end(sessionKey: string): boolean {
    this.tombstones.delete(sessionKey)
    const e = this.sessions.get(sessionKey)
    if (!e) return false
    this.remove(e)
    return true
  }

  /** Kills every session (shutdown) and resolves once their sandboxes are gone. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.reaper)
    const all = [...this.sessions.values()]
    for (const e of all) this.remove(e)
    const spares = this.spares.splice(0)
    for (const s of spares) s.session.kill()
    const gone = Promise.all([...all, ...spares].map((e) => e.session.whenExited()))
    // Bounded: a shutdown must finish even if a sandbox is slow to die (its processes are SIGKILLed
    // and bwrap's --die-with-parent takes them; the service exiting does not wait for them).
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.opts.log?.('sandboxes still exiting at shutdown; not waiting for them', { count: all.length + spares.length })
        resolve()
      }, CLOSE_WAIT_MS)
    })
    await Promise.race([gone, late])
    clearTimeout(timer)
  }

  private create(key: string): Entry {
    const spare = this.spares.shift()
    if (spare) {
      this.fromSpare++
      const entry: Entry = { key, slot: spare.slot, session: spare.session, ready: spare.ready, chain: Promise.resolve(), busy: 0, lastUsed: Date.now() }
      this.adopt(entry)
      this.fillSpares()
      return entry
    }
    let waitForSlot: Promise<void> = Promise.resolve()
    if (this.freeSlots.length === 0) {
      const evicted = this.evictIdle()
      if (!evicted) throw new PoolFullError(`all ${this.opts.maxSessions} sandbox sessions of this host are busy`)
      waitForSlot = evicted.session.whenExited()
    }
    const session = new KernelSession(this.opts.maxLineBytes)
    const entry: Entry = { key, slot: -1, session, ready: Promise.resolve(), chain: Promise.resolve(), busy: 0, lastUsed: Date.now() }
    entry.ready = waitForSlot.then(() => {
      // The evicted session's slot is back once its processes are gone (see remove()).
      const slot = this.freeSlots.pop()
      if (slot === undefined) throw new PoolFullError(`all ${this.opts.maxSessions} sandbox sessions of this host are busy`)
      entry.slot = slot
      const uid = this.opts.uidBase === null ? null : this.opts.uidBase + slot
      return session.start(this.opts.command(uid), this.opts.startTimeoutMs ?? 120_000)
    })
    this.adopt(entry)
    return entry
  }

  private adopt(entry: Entry) {
    entry.ready.then(
      () => {
        if (this.sparesBroken) {
          this.sparesBroken = false
          this.fillSpares()
        }
      },
      () => undefined,
    )
    this.sessions.set(entry.key, entry)
    // A session that dies while idle (CPU limit, OOM) frees its slot at once.
    void entry.session.whenExited().then(() => {
      if (this.sessions.get(entry.key) === entry && entry.busy === 0) {
        this.remove(entry)
        this.tomb(entry.key, 'the Python kernel died while idle')
      }
    })
  }

  private remove(e: Entry) {
    if (this.sessions.get(e.key) !== e) return
    this.sessions.delete(e.key)
    e.session.kill()
    // The slot's uid is reused only once every process of the old sandbox is gone (RLIMIT_NPROC counts them).
    void e.session.whenExited().then(() => {
      if (e.slot >= 0) this.freeSlots.push(e.slot)
      this.fillSpares()
    })
  }

  private tomb(key: string, reason: string) {
    this.tombstones.set(key, reason)
    if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value as string)
  }

  private evictIdle(): Entry | undefined {
    let oldest: Entry | undefined
    for (const e of this.sessions.values()) if (e.busy === 0 && e.slot >= 0 && (!oldest || e.lastUsed < oldest.lastUsed)) oldest = e
    if (!oldest) return undefined
    this.opts.log?.('evicting the least recently used idle session: host full', { idleMs: Date.now() - oldest.lastUsed })
    this.remove(oldest)
    this.tomb(oldest.key, 'this sandbox host needed its slot for another session')
    return oldest
  }

  private reapIdle() {
    const now = Date.now()
    for (const e of [...this.sessions.values()]) {
      if (e.busy === 0 && now - e.lastUsed >= this.opts.idleTimeoutMs) {
        this.remove(e)
        this.tomb(e.key, `it was idle for ${Math.round(this.opts.idleTimeoutMs / 60_000)} min and expired`)
      }
    }
  }
}
