import type { Redis } from 'ioredis'
import { NO_SANDBOX_MESSAGE, SandboxUnavailableError } from './errors.js'
import { readNdjson } from './ndjson.js'
import { liveHosts, sandboxKeys } from './registry.js'
import { type ExecutionStatus, SessionKey, type WireFile, WireError, WireEvent, type WireOutput } from './wire.js'

/** One output of an execution, as OpenAI's code_interpreter step reports it. */
export type SandboxOutput = { type: 'logs'; logs: string } | { type: 'image'; png: Buffer }
export interface SandboxFile {
  /** Path relative to /mnt/data; inputs are plain file names. */
  name: string
  bytes: Buffer
}

export interface ExecuteOptions {
  /** Opaque; the worker uses project + thread. 1–256 printable ASCII characters. */
  sessionKey: string
  code: string
  /** Written to /mnt/data/<name> before the code runs. */
  files?: SandboxFile[]
  /** Wall time of this execution (the service caps it; default: the service's, 60 s). */
  timeoutMs?: number
  /** Aborting interrupts the running execution (run cancel / expiry); execute() then resolves with status `cancelled`. */
  signal?: AbortSignal
  /** Each output as the kernel produces it (adjacent logs are not merged here). */
  onOutput?: (output: SandboxOutput) => void
}

export interface ExecuteResult {
  /** In order; adjacent logs merged into one. */
  outputs: SandboxOutput[]
  /** New or changed under /mnt/data. */
  files: SandboxFile[]
  /** The session this key had is gone (host lost, kernel died, idle expiry): variables and files are reset. */
  sessionRestarted: boolean
  /** Human text for the model when the session was restarted or something was cut. */
  notice?: string
  status: ExecutionStatus | 'lost'
}

export interface SandboxClient {
  execute(opts: ExecuteOptions): Promise<ExecuteResult>
  /** Ends the key's session (thread deleted); no error if there is none. */
  endSession(sessionKey: string): Promise<void>
}

export interface SandboxClientOptions {
  redis: Redis
  /** The deployment's REDIS_PREFIX: hosts register under it. */
  keyPrefix: string
  /** SANDBOX_TOKEN, shared with the sandbox hosts. */
  token: string
  /** How long the session → host record lives after its last use (default 25 h: idle expiry + a day, so a late call learns its session expired). */
  sessionRecordSeconds?: number
  /** After an abort, how long to wait for the interrupted execution's result before giving up (ms). */
  abortGraceMs?: number
  fetch?: typeof fetch
}

const LOST_HOST_NOTICE =
  'The sandbox host that held this session is gone, so this ran in a fresh session: variables, imports and files in /mnt/data from earlier calls are lost.'
const LOST_DURING_NOTICE = 'The sandbox host was lost while this code ran; its result is unknown. The next call starts a fresh session.'

/**
 * The worker's handle on code_interpreter sandboxes. Picks a live host from the Redis registry
 * for a new session (fewest sessions first), keeps a session on its host (recorded in Redis),
 * and moves a session whose host is gone to a fresh one elsewhere, saying so in `notice`.
 * Throws {@link SandboxUnavailableError} when no host is registered or reachable.
 */
export function createSandboxClient(opts: SandboxClientOptions): SandboxClient {
  const keys = sandboxKeys(opts.keyPrefix)
  const doFetch = opts.fetch ?? fetch
  const recordSeconds = opts.sessionRecordSeconds ?? 25 * 3600
  const abortGraceMs = opts.abortGraceMs ?? 10_000
  const auth = { authorization: `Bearer ${opts.token}` }

  async function unavailable(detail?: string): Promise<SandboxUnavailableError> {
    const reason = await opts.redis.get(keys.unavailable).catch(() => null)
    return new SandboxUnavailableError([reason ?? NO_SANDBOX_MESSAGE, detail].filter(Boolean).join(' '))
  }

  async function pickHost(exclude: Map<string, string>): Promise<string> {
    const hosts = (await liveHosts(opts.redis, opts.keyPrefix)).filter((h) => !exclude.has(h.url))
    if (hosts.length === 0) {
      const why = [...exclude].map(([url, reason]) => `${url}: ${reason}`).join('; ')
      throw await unavailable(exclude.size > 0 ? `(registered hosts that did not take the call: ${why})` : undefined)
    }
    const fewest = Math.min(...hosts.map((h) => h.sessions))
    const best = hosts.filter((h) => h.sessions === fewest)
    return best[Math.floor(Math.random() * best.length)]!.url
  }

  async function execute(req: ExecuteOptions): Promise<ExecuteResult> {
    const key = SessionKey.safeParse(req.sessionKey)
    if (!key.success) throw new TypeError(`sessionKey ${key.error.issues[0]?.message ?? 'is invalid'}`)
    // Cancelled before it started: nothing runs.
    if (req.signal?.aborted) return { outputs: [], files: [], sessionRestarted: false, status: 'cancelled' }
    const recordKey = keys.session(req.sessionKey)
    const recorded = await opts.redis.get(recordKey)
    const live = new Set((await liveHosts(opts.redis, opts.keyPrefix)).map((h) => h.url))
    const exclude = new Map<string, string>()
    let lostHost = recorded !== null && !live.has(recorded)
    let host = recorded !== null && !lostHost ? recorded : await pickHost(exclude)
    const body = {
      sessionKey: req.sessionKey,
      code: req.code,
      files: (req.files ?? []).map((f) => ({ name: f.name, b64: f.bytes.toString('base64') })),
      timeoutMs: req.timeoutMs,
    }

    for (;;) {
      await opts.redis.set(recordKey, host, 'EX', recordSeconds)
      const resume = recorded === host
      let response: Response
      try {
        response = await doFetch(`${host}/v1/execute`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ ...body, resume }),
        })
      } catch (err) {
        // Not reachable (crashed between heartbeats, partitioned): a fresh session elsewhere.
        exclude.set(host, `unreachable (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`)
        if (resume) lostHost = true
        host = await pickHost(exclude)
        continue
      }
      if (response.status === 503) {
        const parsed = WireError.safeParse(await response.json().catch(() => null))
        exclude.set(host, parsed.success ? parsed.data.error.message : 'answered 503')
        if (resume) lostHost = true
        if (parsed.success && parsed.data.error.code !== 'sandbox_full') throw await unavailable(parsed.data.error.message)
        host = await pickHost(exclude)
        continue
      }
      if (!response.ok || !response.body) {
        const parsed = WireError.safeParse(await response.json().catch(() => null))
        throw new SandboxUnavailableError(
          `The sandbox at ${host} answered ${response.status}${parsed.success ? `: ${parsed.data.error.message}` : ''}`,
        )
      }
      const result = await readExecution(host, req, response.body)
      if (lostHost) {
        result.sessionRestarted = true
        result.notice = [LOST_HOST_NOTICE, result.notice].filter(Boolean).join(' ')
      }
      return result
    }
  }

  async function readExecution(host: string, req: ExecuteOptions, body: ReadableStream<Uint8Array>): Promise<ExecuteResult> {
    const outputs: SandboxOutput[] = []
    let interruptSent = false
    let giveUp: NodeJS.Timeout | undefined
    const reader = body.getReader()
    const onAbort = () => {
      if (interruptSent) return
      interruptSent = true
      void doFetch(`${host}/v1/interrupt`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ sessionKey: req.sessionKey }),
      }).catch(() => undefined)
      // The interrupted execution's result normally follows within moments; if not, stop reading.
      giveUp = setTimeout(() => void reader.cancel().catch(() => undefined), abortGraceMs)
    }
    if (req.signal?.aborted) onAbort()
    else req.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const line of readNdjson(reader)) {
        const parsed = WireEvent.safeParse(JSON.parse(line))
        if (!parsed.success) continue
        const event = parsed.data
        if (event.type === 'output') {
          const output = toOutput(event.output)
          outputs.push(output)
          req.onOutput?.(output)
          continue
        }
        return {
          outputs: mergeLogs(outputs),
          files: event.files.map(fromWire),
          sessionRestarted: event.sessionRestarted,
          ...(event.notice ? { notice: event.notice } : {}),
          status: event.status,
        }
      }
    } catch {
      // The stream broke: fall through to "lost".
    } finally {
      clearTimeout(giveUp)
      req.signal?.removeEventListener('abort', onAbort)
    }
    if (interruptSent) return { outputs: mergeLogs(outputs), files: [], sessionRestarted: false, status: 'cancelled' }
    return { outputs: mergeLogs(outputs), files: [], sessionRestarted: false, notice: LOST_DURING_NOTICE, status: 'lost' }
  }

  async function endSession(sessionKey: string): Promise<void> {
    const recordKey = keys.session(sessionKey)
    const host = await opts.redis.get(recordKey)
    await opts.redis.del(recordKey)
    if (host === null) return
    await doFetch(`${host}/v1/sessions/${encodeURIComponent(sessionKey)}`, { method: 'DELETE', headers: auth }).catch(() => undefined)
  }

  return { execute, endSession }
}

const toOutput = (o: WireOutput): SandboxOutput => (o.type === 'logs' ? o : { type: 'image', png: Buffer.from(o.png, 'base64') })
const fromWire = (f: WireFile): SandboxFile => ({ name: f.name, bytes: Buffer.from(f.b64, 'base64') })

/** Adjacent logs outputs as one, as OpenAI reports a call's text: one `logs` between images. */
export function mergeLogs(outputs: SandboxOutput[]): SandboxOutput[] {
  const merged: SandboxOutput[] = []
  for (const o of outputs) {
    const last = merged.at(-1)
    if (o.type === 'logs' && last?.type === 'logs') merged[merged.length - 1] = { type: 'logs', logs: last.logs + o.logs }
    else merged.push(o)
  }
  return merged
}
