/**
 * The fake upstream in a child process of its own (`forkFakeUpstream`), so its CPU (thousands of
 * paced SSE streams) is not counted against the process being measured. Driven over IPC: set the
 * reply every request gets, read the in-flight maxima, reset the recordings.
 *
 * Run by hand (`node --import tsx bench/fake-upstream-process.ts`) it is a model for trying
 * Threadwork without one: it prints `UPSTREAM_BASE_URL=…` and echoes every request until stopped.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
// Imported by path, not through the test-utils barrel: that one also loads the API and storage.
import { startFakeUpstream } from '../packages/test-utils/src/fake-upstream.js'
import { defaultReply, echoText, lastUserText } from '../packages/test-utils/src/fake-upstream-plan.js'
import { fileSearchCall, sourceMarkersIn, toolRoundOf, toolScript } from '../packages/test-utils/src/fake-upstream-tools.js'
import type { FakeEmbeddingsMode } from '../packages/test-utils/src/fake-embeddings.js'
import type { FakeToolCall, RecordedRequest, Reply } from '../packages/test-utils/src/fake-upstream-types.js'

/**
 * A tool-using model's script as plain data (handlers cannot cross the process boundary): per
 * round, call tools or answer, the answer optionally followed by the first file_search source
 * marker the previous round returned (a citation). Requests that offer none of the called tools
 * get `otherwise` (the same assistant's plain run).
 */
export interface PlainToolScript {
  steps: ({ call: FakeToolCall | FakeToolCall[] } | { answer: string; citeFirstSource?: boolean })[]
  otherwise: Reply
}

type Op = { op: 'respond'; reply: Reply } | { op: 'script'; script: PlainToolScript } | { op: 'stats' } | { op: 'reset' }
type Request = Op & { id: number }

export interface UpstreamStats {
  inFlight: number
  maxInFlight: number
  requests: number
  completed: number
}

export interface ForkedUpstream {
  baseURL: string
  pid: number
  /** Every later request gets `reply` (a plain object: handlers cannot cross the process boundary). */
  respond(reply: Reply): Promise<void>
  /** Every later request is answered by the script (see {@link PlainToolScript}). */
  respondScript(script: PlainToolScript): Promise<void>
  stats(): Promise<UpstreamStats>
  /** Clears recordings and restarts the maxima from what is in flight now. */
  reset(): Promise<void>
  close(): Promise<void>
}

/** Starts the fake upstream in a child process and resolves once it listens. `embeddings`: how it computes vectors (default `lexical`). */
export async function forkFakeUpstream(options: { embeddings?: FakeEmbeddingsMode } = {}): Promise<ForkedUpstream> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', `--embeddings=${options.embeddings ?? 'lexical'}`], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, (value: unknown) => void>()
  let next = 0
  const baseURL = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`fake upstream process exited (${code}) before it was ready`)))
    child.on('message', (m: { ready?: string; id?: number; result?: unknown }) => {
      if (m.ready) resolve(m.ready)
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.result)
        pending.delete(m.id)
      }
    })
  })
  const call = <T>(req: Op): Promise<T> =>
    new Promise((resolve) => {
      const id = next++
      pending.set(id, resolve as (value: unknown) => void)
      child.send({ ...req, id })
    })
  return {
    baseURL,
    pid: child.pid ?? -1,
    respond: (reply) => call({ op: 'respond', reply }),
    respondScript: (script) => call({ op: 'script', script }),
    stats: () => call({ op: 'stats' }),
    reset: () => call({ op: 'reset' }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

if (process.argv.includes('--child') && process.send) {
  const upstream = await startFakeUpstream({ embeddings: process.argv.includes('--embeddings=instant') ? 'instant' : 'lexical' })
  process.on('message', (m: Request) => {
    let result: unknown = null
    if (m.op === 'respond') {
      const reply = m.reply
      upstream.respond(() => reply)
    } else if (m.op === 'script') {
      const { steps, otherwise } = m.script
      const names = new Set(steps.flatMap((step) => ('call' in step ? [step.call].flat().map((c) => c.name) : [])))
      const scripted = toolScript(
        steps.map((step) =>
          'call' in step
            ? step
            : { answer: ({ outputs }) => (step.citeFirstSource ? `${step.answer} ${sourceMarkersIn(outputs[0] ?? '')[0] ?? ''}`.trim() : step.answer) },
        ),
      )
      const offers = (req: RecordedRequest) =>
        (req.body.tools ?? []).some((t: { type?: string; function?: { name?: string } }) => t.type === 'function' && names.has(t.function?.name ?? ''))
      upstream.respond((req) => (offers(req) ? scripted(req) : otherwise))
    } else if (m.op === 'reset') {
      upstream.reset()
    } else if (m.op === 'stats') {
      result = {
        inFlight: upstream.inFlight,
        maxInFlight: upstream.maxInFlight,
        requests: upstream.requests.length,
        completed: upstream.requests.filter((r) => r.outcome === 'completed').length,
      } satisfies UpstreamStats
    }
    process.send?.({ id: m.id, result })
  })
  process.on('SIGTERM', () => void upstream.close().finally(() => process.exit(0)))
  process.send({ ready: upstream.baseURL })
}

const FILE_SEARCH = 'file_search'

/**
 * The by-hand model's replies: the echo (fake-upstream-plan.ts), except when offered Threadwork's
 * file_search function — then it searches with the user's question and answers with the echo
 * followed by the first source marker it was handed, so a file_search assistant shows its search
 * step and a file_citation without a real model.
 */
function byHandReply(req: RecordedRequest): Reply {
  const offersSearch = (req.body.tools ?? []).some((t) => t.type === 'function' && t.function.name === FILE_SEARCH)
  if (!offersSearch || req.body.tool_choice === 'none') return defaultReply(req)
  const round = toolRoundOf(req.body)
  if (round.round === 0) return { kind: 'tool_calls', calls: [fileSearchCall(lastUserText(req.body))] }
  return { kind: 'text', text: `${echoText(req.body)} ${sourceMarkersIn(round.allOutputs.join('\n'))[0] ?? ''}`.trim() }
}

// Run by hand: a stand-in model until Ctrl-C. It also serves the README samples' model name, so
// they run unchanged against it (replies echo the last user message; see fake-upstream-plan.ts).
if (!process.send && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const upstream = await startFakeUpstream({ models: ['deepseek-chat', 'fake-model', 'gpt-4o-mini'], handler: byHandReply })
  process.stdout.write(
    `fake upstream model (echoes the last user message; offered file_search, searches with it and cites the first source); run Threadwork against it with:\n  UPSTREAM_BASE_URL=${upstream.baseURL} pnpm start\n`,
  )
  const stop = () => void upstream.close().finally(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
