/**
 * The seed tutorial's built-in-tool assistants through the official openai-python SDK (pinned in
 * python-sdk.ts), as the tutorial's code reads, against real worker processes and a real sandbox
 * host; the scenarios are Python in python/builtin_tools_scenarios.py. Only the model is a stand-in.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileSearchCall, pythonCall, sourceMarkersIn, toolScript } from '@threadwork/test-utils'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ensurePythonSdk, pythonScenario } from './python-sdk.js'
import { type ToolStack, codeInterpreterSkipReason, startToolStack } from './tools-support.js'

const python = ensurePythonSdk()
const skip = !python.ok ? python.reason : codeInterpreterSkipReason()
if (skip) console.warn(`skipping the Python SDK built-in tool tests: ${skip}`)

let stack: ToolStack
let dataDir: string
const scenario = <T>(name: string) =>
  pythonScenario<T>(name, { baseURL: stack.api.baseURL, apiKey: stack.api.apiKey, assistantId: '' }, { script: 'builtin_tools_scenarios.py', env: { TW_DATA_DIR: dataDir }, timeoutMs: 120_000 })

beforeAll(async () => {
  if (skip) return
  stack = await startToolStack()
  dataDir = await mkdtemp(join(tmpdir(), 'tw-py-tools-'))
}, 15 * 60_000)
afterAll(async () => {
  await stack?.close()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})
beforeEach(() => stack?.upstream.reset())

describe.skipIf(skip !== null)('built-in tools through openai-python', () => {
  it('math tutor, streamed with an AssistantEventHandler: code input deltas, its logs, the answer, the steps', { timeout: 150_000 }, async () => {
    const code = "from sympy import symbols, Eq, solve\nx = symbols('x')\nprint(solve(Eq(3*x + 11, 14), x))"
    stack.upstream.respond(toolScript([{ call: pythonCall(code) }, { answer: ({ outputs }) => `The solution is x = ${outputs[0]!.trim().replace(/[[\]]/g, '')}.` }]))
    const log = await scenario<{ status: string; tool_types: string[]; input_deltas: string[]; logs: string; text: string; steps: Record<string, unknown>[] }>('math_tutor_stream')
    expect(log.status).toBe('completed')
    expect(log.tool_types).toEqual(['code_interpreter'])
    expect(log.input_deltas.join('')).toBe(code)
    expect(log.input_deltas.length).toBeGreaterThan(3)
    expect(log.logs).toBe('[1]\n')
    expect(log.text).toBe('The solution is x = 1.')
    expect(log.steps[0]).toMatchObject({ type: 'tool_calls', tool_calls: [{ type: 'code_interpreter', code_interpreter: { input: code, outputs: [{ type: 'logs', logs: '[1]\n' }] } }] })
    expect(log.steps[1]).toMatchObject({ type: 'message_creation' })
  })

  it('data analyst with a CSV in tool_resources: a chart as a downloadable PNG File, a saved CSV linked by a file_path annotation', { timeout: 150_000 }, async () => {
    const code = [
      'import pandas as pd, matplotlib.pyplot as plt',
      "df = pd.read_csv('/mnt/data/weather.csv')",
      "plt.plot(df.day, df.temp_c); plt.title('temperatures'); plt.show()",
      "df.describe().loc[['mean', 'max']].to_csv('/mnt/data/summary.csv')",
      'print(round(df.temp_c.mean(), 2))',
    ].join('\n')
    stack.upstream.respond(toolScript([{ call: pythonCall(code) }, { answer: ({ outputs }) => `Mean ${/\d+\.\d+/.exec(outputs[0]!)?.[0]}: [summary](sandbox:/mnt/data/summary.csv)` }]))
    const r = await scenario<{ status: string; logs: string; image_png: string[]; image_parts: boolean; text: string; file_paths: { text: string; sliced: string; content: string }[] }>('data_analyst_files')
    expect(r.status).toBe('completed')
    expect(r.logs).toBe('19.33\n')
    expect(r.image_png).toEqual(['89504e470d0a1a0a'])
    expect(r.image_parts).toBe(true)
    expect(r.text).toBe('Mean 19.33: [summary](sandbox:/mnt/data/summary.csv)')
    expect(r.file_paths).toHaveLength(1)
    expect(r.file_paths[0]).toMatchObject({ text: 'sandbox:/mnt/data/summary.csv', sliced: 'sandbox:/mnt/data/summary.csv' })
    expect(r.file_paths[0]!.content).toMatch(/^,day,temp_c\nmean,2\.0,19\.33/)
  })

  it('the LLM technical assistant (file_search): batch upload_and_poll, an answer citing the right file, footnotes as in OpenAI\'s docs', { timeout: 150_000 }, async () => {
    stack.upstream.respond(
      toolScript([{ call: fileSearchCall('transformer base model attention heads') }, { answer: ({ outputs }) => `It uses 8 heads${sourceMarkersIn(outputs[0] ?? '')[0] ?? ''}.` }]),
    )
    const r = await scenario<{ batch: { completed: number }; status: string; original: string; value: string; citations: string[]; results: { file_name: string; has_content: boolean }[] }>(
      'llm_technical_assistant',
    )
    expect(r.batch.completed).toBe(2)
    expect(r.status).toBe('completed')
    expect(r.original).toBe('It uses 8 heads【0:0†transformer.md】.')
    expect(r.value).toBe('It uses 8 heads[0].')
    expect(r.citations).toEqual(['[0] transformer.md'])
    expect(r.results[0]).toEqual({ file_name: 'transformer.md', has_content: true })
  })
})
