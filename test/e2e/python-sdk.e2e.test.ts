/**
 * The official openai-python SDK (pinned in python-sdk.ts) against Threadwork: `runs.stream` with
 * an `AssistantEventHandler`, function calling answered from inside the handler with
 * `submit_tool_outputs_stream` (OpenAI's docs example), `create_and_poll`, auto-pagination and a
 * typed 404. The scenarios are Python code in python/assistants_scenarios.py.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ensurePythonSdk, pythonScenario } from './python-sdk.js'
import { type RunStack, startRunStack } from './runs-support.js'

const python = ensurePythonSdk()
if (!python.ok) console.warn(`Skipping the Python SDK tests: ${python.reason}`)

let stack: RunStack
let env: { baseURL: string; apiKey: string; assistantId: string }

beforeAll(async () => {
  if (!python.ok) return
  stack = await startRunStack()
  const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
  const assistant = await stack.assistant({ tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather } }] })
  env = { baseURL: stack.api.baseURL, apiKey: stack.api.apiKey, assistantId: assistant.id }
}, 180_000)
afterAll(() => stack?.close())
beforeEach(() => stack?.upstream.reset())

interface StreamLog {
  events: string[]
  text: string
  tool_arguments: string
  final_run_status: string
  final_messages?: string[]
  tool_calls?: { id: string; name: string; arguments: string }[]
  after_tool_outputs?: StreamLog
}

const TEXT_RUN_EVENTS = [
  'thread.run.created',
  'thread.run.queued',
  'thread.run.in_progress',
  'thread.run.step.created',
  'thread.run.step.in_progress',
  'thread.message.created',
  'thread.message.in_progress',
]

describe.skipIf(!python.ok)('openai-python SDK', () => {
  it('runs.stream with an AssistantEventHandler: every event in order, text deltas, final run and messages', async () => {
    stack.upstream.respondOnce({ kind: 'text', text: 'Hello from Threadwork, Python!' })
    const log = await pythonScenario<StreamLog>('text_stream', env)

    expect(log.events.slice(0, TEXT_RUN_EVENTS.length)).toEqual(TEXT_RUN_EVENTS)
    expect(log.events.slice(TEXT_RUN_EVENTS.length, -3).every((e) => e === 'thread.message.delta')).toBe(true)
    expect(log.events.slice(-3)).toEqual(['thread.message.completed', 'thread.run.step.completed', 'thread.run.completed'])
    expect(log.text).toBe('Hello from Threadwork, Python!')
    expect(log.final_run_status).toBe('completed')
    expect(log.final_messages).toEqual(['Hello from Threadwork, Python!'])
  })

  it('a tool call answered inside the handler with submit_tool_outputs_stream, as in OpenAI’s docs', async () => {
    stack.upstream.respondOnce(
      { kind: 'tool_calls', calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { kind: 'text', text: 'It is 22 degrees and sunny in Paris.' },
    )
    const log = await pythonScenario<StreamLog>('tool_stream', env)

    expect(log.events).toContain('thread.run.step.delta')
    expect(log.events.at(-1)).toBe('thread.run.requires_action')
    expect(log.tool_arguments).toBe('{"city":"Paris"}')
    expect(log.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: '{"city":"Paris"}' }])
    const after = log.after_tool_outputs!
    expect(after.events[0]).toBe('thread.run.step.completed')
    expect(after.events).toContain('thread.run.in_progress')
    expect(after.events.at(-1)).toBe('thread.run.completed')
    expect(after.text).toBe('It is 22 degrees and sunny in Paris.')
    expect(after.final_run_status).toBe('completed')
    // The model got the tool's output on the second round.
    const [, second] = await stack.upstream.waitForRequests(2)
    expect(JSON.stringify(second!.body.messages)).toContain('22 degrees and sunny')
  })

  it('create_and_poll, the tutorial’s messages.data[0] read, and auto-pagination over the after cursor', async () => {
    const out = await pythonScenario<{ status: string; usage_total: number; reply: string; roles: string[]; auto_paged_ids: number }>('poll', env)
    expect(out).toMatchObject({ status: 'completed', roles: ['assistant', 'user'], auto_paged_ids: 2 })
    expect(out.reply).toMatch(/^Echo: hi there/)
    expect(out.usage_total).toBeGreaterThan(0)
  })

  it('raises the SDK’s typed NotFoundError with OpenAI’s body', async () => {
    const out = await pythonScenario<{ class: string; status: number; message: string; body: unknown }>('errors', env)
    expect(out).toEqual({
      class: 'NotFoundError',
      status: 404,
      message: expect.stringContaining("No thread found with id 'thread_doesnotexist'."),
      body: { message: "No thread found with id 'thread_doesnotexist'.", type: 'invalid_request_error', param: null, code: null },
    })
  })

  it('a file_search assistant prints and reads as the seed tutorial shows OpenAI’s (ranking_options filled in)', async () => {
    const out = await pythonScenario<{ created: string; retrieved: string; ranking_options: unknown; max_num_results: number | null }>('file_search_tool', env)
    expect(out.ranking_options).toEqual({ ranker: 'default_2024_08_21', score_threshold: 0 })
    expect(out.max_num_results).toBeNull()
    for (const printed of [out.created, out.retrieved]) {
      // The seed's line, field order aside (it follows the SDK version's model, not the JSON).
      expect(printed).toMatch(/^FileSearchTool\(type='file_search', file_search=FileSearch\(max_num_results=None, ranking_options=FileSearchRankingOptions\(/)
      expect(printed).toContain("ranker='default_2024_08_21'")
      expect(printed).toContain('score_threshold=0.0')
    }
  })

  it('tool_resources print as the seed tutorial shows OpenAI’s: assistants by their tools, a thread before and after a run', async () => {
    type Printed = { repr: string; dict: unknown }
    const out = await pythonScenario<
      Record<'writer' | 'engineer' | 'researcher' | 'listed_engineer' | 'thread_created' | 'thread_after_run', Printed> & { run_status: string }
    >('tool_resources', env)
    // Seed: `tool_resources=ToolResources(code_interpreter=None, file_search=None)`, `to_dict()`: `'tool_resources': {}`.
    expect(out.writer).toEqual({ repr: 'ToolResources(code_interpreter=None, file_search=None)', dict: {} })
    // Seed: `tool_resources=ToolResources(code_interpreter=ToolResourcesCodeInterpreter(file_ids=[]), file_search=None)`.
    const engineer = {
      repr: 'ToolResources(code_interpreter=ToolResourcesCodeInterpreter(file_ids=[]), file_search=None)',
      dict: { code_interpreter: { file_ids: [] } },
    }
    expect(out.engineer).toEqual(engineer)
    expect(out.listed_engineer).toEqual(engineer)
    expect(out.researcher).toEqual({
      repr: 'ToolResources(code_interpreter=None, file_search=ToolResourcesFileSearch(vector_store_ids=[]))',
      dict: { file_search: { vector_store_ids: [] } },
    })
    // Seed: `thread.to_dict()` → `'tool_resources': {}`; retrieved after its runs, printed as below.
    expect(out.thread_created.dict).toEqual({})
    expect(out.thread_created.repr).toMatch(
      /^Thread\(id='thread_\w{24}', created_at=\d+, metadata=\{\}, object='thread', tool_resources=ToolResources\(code_interpreter=None, file_search=None\)\)$/,
    )
    expect(out.run_status).toBe('completed')
    expect(out.thread_after_run.repr).toMatch(
      /^Thread\(id='thread_\w{24}', created_at=\d+, metadata=\{\}, object='thread', tool_resources=ToolResources\(code_interpreter=ToolResourcesCodeInterpreter\(file_ids=\[\]\), file_search=None\)\)$/,
    )
    expect(out.thread_after_run.dict).toEqual({ code_interpreter: { file_ids: [] } })
  })
})
