/**
 * README.md's "Use it from the official SDKs" samples, run as a user would run them: each fenced
 * ```ts/```js block saved as an `.mjs` file and run with node, each ```python block run with the
 * pinned openai-python (python-sdk.ts). The only change is the one a user makes: the README's
 * `http://localhost:8080/v1` and `sk-threadwork-dev` replaced by this stack's URL and key. They
 * must exit 0 and print the fake model's reply.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startFakeUpstream } from '@threadwork/test-utils'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { OPENAI_PYTHON_VERSION, ensurePythonSdk } from './python-sdk.js'
import { type RunStack, startRunStack } from './runs-support.js'

const SECTION = '## Use it from the official SDKs'
const README_URL = 'http://localhost:8080/v1'
const README_KEY = 'sk-threadwork-dev'

const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')

/** The fenced blocks of the README section `title` (up to the next `## ` heading), by language. */
function samples(title: string): { lang: string; code: string }[] {
  const start = readme.indexOf(`\n${title}\n`)
  if (start < 0) throw new Error(`README.md has no "${title}" section`)
  const rest = readme.slice(start + title.length + 2)
  const end = rest.search(/^## /m)
  const section = end < 0 ? rest : rest.slice(0, end)
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }))
}

const blocks = samples(SECTION)
const nodeBlocks = blocks.filter((b) => ['ts', 'js', 'javascript', 'mjs'].includes(b.lang))
const pythonBlocks = blocks.filter((b) => b.lang === 'python')

const python = ensurePythonSdk()
if (!python.ok) console.warn(`Skipping the README Python sample: ${python.reason}`)
const PYTHON = fileURLToPath(new URL(`../../node_modules/.cache/threadwork-python/openai-${OPENAI_PYTHON_VERSION}/bin/python`, import.meta.url))
// Under test/ so that `import OpenAI from 'openai'` resolves to test/node_modules/openai, as in a user's project.
const CACHE = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url))

const run = promisify(execFile)
let stack: RunStack
let dir: string

beforeAll(async () => {
  // The README's model is `deepseek-chat`: the fake upstream serves it, as the user's provider would.
  stack = await startRunStack({ upstream: await startFakeUpstream({ models: ['deepseek-chat', 'fake-model'] }) })
  await stack.startWorker()
  await mkdir(CACHE, { recursive: true })
  dir = await mkdtemp(join(CACHE, 'readme-samples-'))
}, 180_000)
afterAll(async () => {
  await stack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The sample with the README's URL and key swapped for this stack's; both must be in it. */
function asUser(code: string): string {
  expect(code).toContain(README_URL)
  expect(code).toContain(README_KEY)
  return code.replaceAll(README_URL, stack.api.baseURL).replaceAll(README_KEY, stack.api.apiKey)
}

const env = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' })

describe('README "Use it from the official SDKs" samples', () => {
  it('has a Node and a Python sample', () => {
    expect(nodeBlocks.length).toBeGreaterThanOrEqual(1)
    expect(pythonBlocks.length).toBeGreaterThanOrEqual(1)
  })

  it.each(nodeBlocks.map((b, i) => [i, b.code] as const))('Node sample %i runs as an ES module and prints the reply', async (i, code) => {
    const file = join(dir, `sample-${i}.mjs`)
    await writeFile(file, asUser(code))
    const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 60_000, env: env() })
    expect(stdout).toContain('Echo: Hello!')
  })

  it.each(nodeBlocks.map((b, i) => [i, b.code] as const))('Node sample %i says why when the run fails, instead of printing the question back', async (i, code) => {
    // The provider refuses the key (not retried): the run ends failed at once.
    stack.upstream.respond(() => ({ kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } } }))
    onTestFinished(() => stack.upstream.reset())
    const file = join(dir, `sample-failing-${i}.mjs`)
    await writeFile(file, asUser(code))
    const failed = await run(process.execPath, [file], { cwd: dir, timeout: 60_000, env: env() }).then(
      () => null,
      (err: { stdout: string; stderr: string }) => err,
    )
    expect(failed).not.toBeNull()
    expect(failed!.stdout).not.toContain('Hello!')
    expect(failed!.stderr).toMatch(/run failed: \S/)
  })

  it.skipIf(!python.ok).each(pythonBlocks.map((b, i) => [i, b.code] as const))('Python sample %i says why when the run fails', async (i, code) => {
    stack.upstream.respond(() => ({ kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } } }))
    onTestFinished(() => stack.upstream.reset())
    const file = join(dir, `sample-failing-${i}.py`)
    await writeFile(file, asUser(code))
    const failed = await run(PYTHON, [file], { cwd: dir, timeout: 90_000, env: env() }).then(
      () => null,
      (err: { stdout: string; stderr: string }) => err,
    )
    expect(failed).not.toBeNull()
    expect(failed!.stdout).not.toContain('Hello!')
    expect(failed!.stderr).toMatch(/run failed: \S/)
  })

  it.skipIf(!python.ok).each(pythonBlocks.map((b, i) => [i, b.code] as const))(
    'Python sample %i runs as written, polled then streamed, and prints both replies',
    async (i, code) => {
      const file = join(dir, `sample-${i}.py`)
      await writeFile(file, asUser(code))
      const { stdout } = await run(PYTHON, [file], { cwd: dir, timeout: 90_000, env: env() })
      expect(stdout).toContain('Echo: Hello!')
      // The streamed part prints the second reply delta by delta.
      if (code.includes('runs.stream')) expect(stdout).toContain('Echo: And again, streamed.')
    },
  )
})
