/**
 * The fake upstream in a child process of its own (`forkFakeUpstream`), so its CPU (thousands of
 * paced SSE streams) is not counted against the process being measured. Driven over IPC: set the
 * reply every request gets, read the in-flight maxima, reset the recordings.
 *
 * Run by hand (`node --import tsx bench/fake-upstream-process.ts`) it is a model for trying
 * Threadwork without one: it prints `UPSTREAM_BASE_URL=…` and answers (see {@link byHandReply}) until stopped.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
// Imported by path, not through the test-utils barrel: that one also loads the API and storage.
import { startFakeUpstream } from '../packages/test-utils/src/fake-upstream.js'
import { defaultReply, echoText, lastUserText } from '../packages/test-utils/src/fake-upstream-plan.js'
import {
  type ToolRound,
  fencedCode,
  fileSearchCall,
  placeholderArguments,
  pythonCall,
  sourceMarkersIn,
  toolRoundOf,
  toolScript,
} from '../packages/test-utils/src/fake-upstream-tools.js'
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

// The names the worker offers its built-ins under (services/worker/src/tools: FILE_SEARCH_FUNCTION,
// CODE_FUNCTION); every other function is one of the user's.
const FILE_SEARCH = 'file_search'
const CODE = 'python'

type OfferedFunction = { name: string; parameters?: unknown }

/**
 * The by-hand model's replies, so a new user without a model sees each kind of tool work:
 * - offered a function of their own (and `tool_choice` not `'none'`): in the turn's first round it
 *   calls the function the named `tool_choice` forces, else the one the last user message names
 *   (the earliest mentioned), else the first with `tool_choice: 'required'`, its arguments made up
 *   from its schema ({@link placeholderArguments}); the run stops in `requires_action`;
 * - offered code_interpreter (the `python` function) and the message holds a fenced code block:
 *   it calls `python` with that code;
 * - offered file_search: it searches with the user's question (as before);
 * - the round after its call it answers with what the tool returned: `<name> returned: <output>`,
 *   `The code's output: <output>`, or, after a search, the echo followed by the first source marker
 *   it was handed (a file_citation).
 * Anything else gets the echo (fake-upstream-plan.ts). Deterministic: the reply follows the request
 * only, so a re-sent request gets the same one. Takes the recorded request; never throws.
 */
export function byHandReply(req: RecordedRequest): Reply {
  const body = req.body
  const functions: OfferedFunction[] = (body.tools ?? []).flatMap((t) => (t.type === 'function' && t.function ? [t.function] : []))
  if (functions.length === 0 || body.tool_choice === 'none') return defaultReply(req)
  const round = toolRoundOf(body)
  if (round.round > 0) return { kind: 'text', text: answerWith(round) }
  const call = firstCall(body, functions)
  // Not the default reply's forced call with `{}`: it would call again every round, never answering.
  return call ? { kind: 'tool_calls', calls: [call] } : { kind: 'text', text: echoText(body) }
}

/** The call the by-hand model makes in a turn's first round, or null to echo. */
function firstCall(body: ChatCompletionCreateParams, functions: OfferedFunction[]): FakeToolCall | null {
  const text = lastUserText(body)
  const code = fencedCode(text)
  const own = functions.filter((f) => f.name !== FILE_SEARCH && f.name !== CODE)
  const offers = (name: string) => functions.some((f) => f.name === name)
  const callOf = (f: OfferedFunction): FakeToolCall => ({ name: f.name, arguments: placeholderArguments(f.parameters) })
  const choice = body.tool_choice
  const forced = typeof choice === 'object' && choice?.type === 'function' ? (choice.function?.name ?? null) : null
  if (forced === FILE_SEARCH && offers(FILE_SEARCH)) return fileSearchCall(text)
  if (forced === CODE && offers(CODE)) return code === null ? null : pythonCall(code)
  const forcedOwn = own.find((f) => f.name === forced)
  if (forcedOwn) return callOf(forcedOwn)
  // Function names are a-z A-Z 0-9 _ - (domain FunctionName, checked by the API): nothing to escape.
  const named = own
    .map((f) => ({ f, at: text.search(new RegExp(`(?<![\\w-])${f.name}(?![\\w-])`, 'i')) }))
    .filter((n) => n.at >= 0)
    .sort((a, b) => a.at - b.at)[0]
  if (named) return callOf(named.f)
  if (code !== null && offers(CODE)) return pythonCall(code)
  if (offers(FILE_SEARCH)) return fileSearchCall(text)
  const first = own[0]
  if (choice === 'required' && first) return callOf(first)
  return null
}

/** The answer after the by-hand model's call came back: what the tool returned. */
function answerWith(round: ToolRound): string {
  if (round.calls.length === 0 || round.calls.some((c) => c.name === FILE_SEARCH))
    return `${echoText(round.body)} ${sourceMarkersIn(round.allOutputs.join('\n'))[0] ?? ''}`.trim()
  return round.calls.map((c) => (c.name === CODE ? `The code's output: ${c.output.trim()}` : `${c.name} returned: ${c.output}`)).join('\n')
}

// Run by hand: a stand-in model until Ctrl-C. It also serves the README samples' model name, so
// they run unchanged against it (replies: byHandReply above).
if (!process.send && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const upstream = await startFakeUpstream({ models: ['deepseek-chat', 'fake-model', 'gpt-4o-mini'], handler: byHandReply })
  process.stdout.write(
    `fake upstream model (echoes the last user message; offered file_search, searches with it and cites the first source; calls a function tool the message names, or code_interpreter on a \`\`\` code block, then answers with its output); run Threadwork against it with:\n  UPSTREAM_BASE_URL=${upstream.baseURL} pnpm start\n`,
  )
  const stop = () => void upstream.close().finally(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
