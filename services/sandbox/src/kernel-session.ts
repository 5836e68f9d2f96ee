import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import type { ExecutionStatus, WireFile, WireOutput } from '@threadwork/sandbox-client'
import { z } from 'zod'
import { sandboxSpawnEnv } from './bwrap-command.js'
import { type JupyterMessage, OutputBudget, toOutputs } from './outputs.js'

/** What the kernel host may send (kernel_host.py); other lines are ignored. */
const HostEvent = z.discriminatedUnion('ev', [
  z.object({ ev: z.literal('ready') }),
  z.object({ ev: z.literal('failed'), reason: z.string() }),
  z.object({ ev: z.literal('msg'), id: z.number(), msg_type: z.string(), content: z.record(z.string(), z.unknown()) }),
  z.object({
    ev: z.literal('done'),
    id: z.number(),
    status: z.enum(['ok', 'error', 'died']),
    reason: z.string().optional(),
    dropped: z.number().default(0),
    files: z.array(z.object({ name: z.string().min(1), b64: z.string() })),
    skipped: z.array(z.object({ name: z.string(), size: z.number() })).default([]),
  }),
])
type HostEvent = z.infer<typeof HostEvent>

export interface ExecutionLimits {
  timeoutMs: number
  maxOutputChars: number
  maxImages: number
  maxFileBytes: number
  /** After an interrupt, how long the kernel gets to stop before the session is killed. */
  interruptGraceMs: number
}

export interface ExecutionOutcome {
  status: ExecutionStatus
  outputs: WireOutput[]
  files: WireFile[]
  /** The session is gone after this execution (died, or killed after a timeout). */
  ended: boolean
  /** Why it ended, for the next call's notice. */
  endReason?: string
}

/** How long the pipes may outlive the bwrap process before the session lets go of them (ms). */
const STDIO_GRACE_MS = 3_000

const FRESH = 'the next call starts a fresh session (variables, imports and files in /mnt/data are lost).'

/**
 * One sandboxed kernel host process (bwrap → kernel_host.py → ipykernel). Not re-entrant: the
 * pool runs one execution at a time per session.
 */
export class KernelSession {
  private child: ChildProcessWithoutNullStreams | null = null
  private nextId = 1
  private listener: ((event: HostEvent) => void) | null = null
  private exitListeners: (() => void)[] = []
  private exited = false
  private stderrTail = ''
  private interruptReason: 'timeout' | 'cancelled' | null = null
  private killTimer: NodeJS.Timeout | undefined

  constructor(private readonly maxLineBytes: number) {}

  get alive(): boolean {
    return this.child !== null && !this.exited
  }

  /** Spawns the sandbox and resolves once the kernel answers; rejects with its stderr's tail if it does not. */
  start(command: { file: string; args: string[] }, timeoutMs: number): Promise<void> {
    if (this.exited) return Promise.reject(new Error('the session was ended before it started'))
    const child = spawn(command.file, command.args, { env: sandboxSpawnEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    this.child = child
    child.stdin.on('error', () => undefined)
    child.on('error', () => undefined)
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000)
    })
    this.readLines(child)
    child.once('close', () => {
      this.exited = true
      clearTimeout(this.killTimer)
      clearTimeout(stdioTimer)
      for (const l of this.exitListeners.splice(0)) l()
    })
    // 'close' waits for every holder of the pipes. bwrap gone means its pid namespace is being torn
    // down; a process stuck there (uninterruptible sleep under memory pressure) must not keep the
    // session "alive" for ever: once bwrap has exited, give the pipes a moment, then let go of them.
    let stdioTimer: NodeJS.Timeout | undefined
    child.once('exit', () => {
      stdioTimer = setTimeout(() => {
        for (const stream of [child.stdout, child.stderr, child.stdin]) stream.destroy()
      }, STDIO_GRACE_MS)
      stdioTimer.unref()
    })
    return new Promise((resolve, reject) => {
      let settled = false
      const fail = (why: string) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.listener = null
        this.kill()
        const tail = this.stderrTail.trim().split('\n').slice(-5).join(' | ')
        reject(new Error(`${why}${tail ? `: ${tail}` : ''}`))
      }
      const timer = setTimeout(() => fail(`the Python kernel did not start within ${timeoutMs} ms`), timeoutMs)
      this.listener = (event) => {
        if (event.ev === 'ready' && !settled) {
          settled = true
          clearTimeout(timer)
          this.listener = null
          resolve()
        } else if (event.ev === 'failed') fail(`the Python kernel failed to start (${event.reason})`)
      }
      this.onExit(() => fail('the sandbox exited before its kernel was ready'))
    })
  }

  private onExit(fn: () => void) {
    if (this.exited) fn()
    else this.exitListeners.push(fn)
  }

  private offExit(fn: () => void) {
    this.exitListeners = this.exitListeners.filter((l) => l !== fn)
  }

  private readLines(child: ChildProcessWithoutNullStreams) {
    // Chunks of the current line; a newline is searched for in each new chunk only, so a long
    // line (base64 files) costs linear time.
    let parts: string[] = []
    let pending = 0
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      let start = 0
      let nl = chunk.indexOf('\n')
      while (nl >= 0) {
        parts.push(chunk.slice(start, nl))
        const line = parts.join('')
        parts = []
        pending = 0
        this.onLine(line)
        start = nl + 1
        nl = chunk.indexOf('\n', start)
      }
      if (start < chunk.length) {
        parts.push(chunk.slice(start))
        pending += chunk.length - start
      }
      // The host runs beside untrusted code: an endless line is a broken or hostile peer.
      if (pending > this.maxLineBytes) {
        parts = []
        pending = 0
        this.kill()
      }
    })
  }

  private onLine(line: string) {
    let parsed: HostEvent
    try {
      parsed = HostEvent.parse(JSON.parse(line))
    } catch {
      // Not protocol: ignored. User code can write to this channel, but only fools its own session.
      return
    }
    this.listener?.(parsed)
  }

  /**
   * Runs `code`, with `files` written to /mnt/data first. Resolves with the outputs and the new or
   * changed files; never rejects for anything the code does (errors, death, timeouts are outcomes).
   */
  execute(code: string, files: WireFile[], limits: ExecutionLimits, onOutput: (o: WireOutput) => void): Promise<ExecutionOutcome> {
    const id = this.nextId++
    const budget = new OutputBudget(limits.maxOutputChars, limits.maxImages)
    const outputs: WireOutput[] = []
    const push = (o: WireOutput) => {
      outputs.push(o)
      onOutput(o)
    }
    const emit = (o: WireOutput) => {
      const admitted = budget.admit(o)
      if (admitted) push(admitted)
    }
    this.interruptReason = null
    const seconds = Math.round(limits.timeoutMs / 100) / 10
    return new Promise((resolve) => {
      let settled = false
      const finish = (outcome: Omit<ExecutionOutcome, 'outputs'>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        clearTimeout(this.killTimer)
        this.listener = null
        this.offExit(onExit)
        // Past the cap, so added directly: the truncation note, then why the execution stopped.
        for (const text of [budget.note(), closingText(outcome, seconds)]) if (text) push({ type: 'logs', logs: text })
        resolve({ ...outcome, outputs })
      }
      const timer = setTimeout(() => this.interrupt('timeout', limits.interruptGraceMs), limits.timeoutMs)
      const onExit = () => {
        const reason = this.interruptReason
        finish({
          status: reason ?? 'died',
          files: [],
          ended: true,
          endReason:
            reason === 'timeout'
              ? 'its previous execution exceeded the time limit and did not stop when interrupted'
              : reason === 'cancelled'
                ? 'its previous execution was cancelled and did not stop when interrupted'
                : `the Python kernel died${this.stderrTail.includes('MemoryError') ? ' (out of memory)' : ''}`,
        })
      }
      this.onExit(onExit)
      this.listener = (event) => {
        if (event.ev === 'msg' && event.id === id) {
          // Our own interrupt's KeyboardInterrupt traceback is replaced by the timeout/cancel note.
          if (this.interruptReason && event.msg_type === 'error' && event.content.ename === 'KeyboardInterrupt') return
          for (const o of toOutputs(event as JupyterMessage)) emit(o)
        } else if (event.ev === 'done' && event.id === id) {
          budget.dropped(event.dropped)
          if (event.status === 'died') {
            this.kill()
            finish({ status: 'died', files: [], ended: true, endReason: event.reason ?? 'the Python kernel died' })
            return
          }
          const skipped = event.skipped.map((s) => `${s.name} (${s.size} bytes)`)
          if (skipped.length > 0) push({ type: 'logs', logs: `\n[files not returned (over ${limits.maxFileBytes} bytes per call, or more than 100): ${skipped.join(', ')}]\n` })
          finish({ status: this.interruptReason ?? event.status, files: event.files, ended: false })
        }
      }
      if (this.exited) return
      const message = {
        op: 'execute',
        id,
        code,
        files,
        // The host's cooperative cap, in bytes of JSON: room for the logs (≤ 4 bytes a character escaped) and images.
        maxOutputBytes: limits.maxOutputChars * 6 + limits.maxImages * 8 * 1024 * 1024,
        maxFileBytes: limits.maxFileBytes,
      }
      this.child?.stdin.write(`${JSON.stringify(message)}\n`)
    })
  }

  /**
   * Interrupts the running execution (SIGINT to the kernel, through jupyter_client); if it has not
   * finished `graceMs` later, kills the whole sandbox.
   */
  interrupt(reason: 'timeout' | 'cancelled', graceMs: number): void {
    if (!this.alive || this.interruptReason) return
    this.interruptReason = reason
    this.child?.stdin.write(`${JSON.stringify({ op: 'interrupt' })}\n`)
    this.killTimer = setTimeout(() => this.kill(), graceMs)
  }

  /** SIGKILL to bwrap; `--die-with-parent` and the pid namespace take everything inside with it. */
  kill(): void {
    if (this.child && !this.exited) this.child.kill('SIGKILL')
    else if (!this.child && !this.exited) {
      // Never started: nothing to kill, it counts as gone.
      this.exited = true
      for (const l of this.exitListeners.splice(0)) l()
    }
  }

  /** Resolves once the sandbox process is gone. */
  whenExited(): Promise<void> {
    return new Promise((resolve) => this.onExit(resolve))
  }
}

function closingText(outcome: Omit<ExecutionOutcome, 'outputs'>, seconds: number): string | null {
  switch (outcome.status) {
    case 'timeout':
      return outcome.ended
        ? `\nTimeoutError: the execution exceeded its ${seconds} s limit and did not stop when interrupted, so its session was ended; ${FRESH}\n`
        : `\nTimeoutError: the execution exceeded its ${seconds} s limit and was interrupted. The session (variables, files) is kept.\n`
    case 'cancelled':
      return outcome.ended ? '\n[execution cancelled; the session was ended]\n' : '\n[execution cancelled]\n'
    case 'died':
      return `\nThe Python kernel died (${outcome.endReason ?? 'unknown cause'}), so its session was ended; ${FRESH}\n`
    default:
      return null
  }
}
