import { randomBytes } from 'node:crypto'
import { SandboxEnv, loadEnv } from '@threadwork/config'
import type { ApiServerOptions } from '@threadwork/test-utils'
import type OpenAI from 'openai'
import { type SandboxServer, startSandboxServer } from '../../services/sandbox/src/server.js'
import { ensureVenv, sandboxSkipReason } from '../../services/sandbox/src/test-harness.js'
import { type RunStack, startRunStack } from './runs-support.js'

const EMBEDDING_MODEL = 'text-embedding-3-large'

/** Why code_interpreter runs cannot be tested here (no bwrap, no python3), or null. */
export const codeInterpreterSkipReason = sandboxSkipReason

/** A runs stack whose workers run built-in tools: a real sandbox host (real kernels in bubblewrap) on the API's prefix. */
export interface ToolStack extends RunStack {
  /** Null without one, or once a test closed it (set it to null then). */
  sandbox: SandboxServer | null
  /** SANDBOX_TOKEN shared by the sandbox host and the workers. */
  sandboxToken: string
}

/**
 * The API, a fake upstream, real worker processes with the API's file storage (STORAGE_DIR) and,
 * unless `sandbox: false`, a sandbox host registered under the API's Redis prefix (as `pnpm start`
 * runs it), so the workers' code_interpreter calls reach real kernels.
 */
export async function startToolStack(opts: { sandbox?: boolean; api?: ApiServerOptions; worker?: Record<string, string> } = {}): Promise<ToolStack> {
  const sandboxToken = randomBytes(24).toString('hex')
  const withSandbox = opts.sandbox !== false
  const venv = withSandbox ? await ensureVenv() : null
  // Workers start after the sandbox host registered (a first run would otherwise race it). Vector
  // stores search hybrid: the fake upstream's /v1/embeddings embeds chunks and queries.
  const stack = await startRunStack({
    api: { embeddingModel: EMBEDDING_MODEL, ...opts.api },
    workers: 0,
    worker: { SANDBOX_TOKEN: sandboxToken, EMBEDDING_MODEL, RECONCILE_EVERY_MS: '1000', RECONCILE_STALE_MS: '2000', ...opts.worker },
  })
  let sandbox: SandboxServer | null = null
  if (withSandbox) {
    const env = loadEnv(SandboxEnv, {
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: stack.api.prefix,
      SANDBOX_TOKEN: sandboxToken,
      SANDBOX_PORT: '0',
      SANDBOX_VENV: venv!,
      SANDBOX_EXECUTION_TIMEOUT_MS: '30000',
      // Its own uid range: RLIMIT_NPROC counts per uid, and test files run in parallel.
      SANDBOX_UID_BASE: String(300_000 + Math.floor(Math.random() * 600) * 1000),
    }) as SandboxEnv
    sandbox = await startSandboxServer(env, { redis: stack.api.redis as never, log: () => undefined })
    if (sandbox.unhealthy) throw new Error(`sandbox self-check failed: ${sandbox.unhealthy}`)
  }
  await stack.startWorker()
  const close = stack.close
  const tools: ToolStack = {
    ...stack,
    sandbox,
    sandboxToken,
    async close() {
      await stack.killWorkers()
      await tools.sandbox?.close()
      await close()
    },
  }
  return tools
}

/** The text of a message's first text part. */
export const replyText = (m: OpenAI.Beta.Threads.Message | undefined) => {
  const part = m?.content.find((c) => c.type === 'text')
  return part?.type === 'text' ? part.text.value : ''
}

/** The tool calls of a run's tool_calls steps, oldest first. */
export async function toolCallsOf(client: OpenAI, run: { id: string; thread_id: string }, include?: OpenAI.Beta.Threads.Runs.RunStepInclude[]) {
  const steps = (await client.beta.threads.runs.steps.list(run.id, { thread_id: run.thread_id, order: 'asc', ...(include ? { include } : {}) })).data
  return steps.flatMap((s) => (s.step_details.type === 'tool_calls' ? s.step_details.tool_calls : []))
}
