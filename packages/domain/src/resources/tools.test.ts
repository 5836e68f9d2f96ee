import { describe, expect, it } from 'vitest'
import { Assistant } from './assistant.js'
import { AssistantTool, threadToolResourcesForRun, toolResourcesForTools } from './tools.js'

const DEFAULT_RANKING = { ranker: 'default_2024_08_21', score_threshold: 0 }

/** An assistant as stored (before any default existed), with these tools and resources. */
const assistant = (tools: unknown[], tool_resources: unknown) => ({
  id: 'asst_1',
  object: 'assistant',
  created_at: 1,
  name: null,
  description: null,
  model: 'gpt-4o-mini',
  instructions: null,
  tools,
  tool_resources,
  metadata: {},
  temperature: 1,
  top_p: 1,
  response_format: 'auto',
})

describe('AssistantTool: file_search carries OpenAI defaults', () => {
  it.each([
    ['bare', { type: 'file_search' }, { type: 'file_search', file_search: { ranking_options: DEFAULT_RANKING } }],
    ['empty file_search', { type: 'file_search', file_search: {} }, { type: 'file_search', file_search: { ranking_options: DEFAULT_RANKING } }],
    [
      'max_num_results only: kept, ranking filled, no max invented',
      { type: 'file_search', file_search: { max_num_results: 3 } },
      { type: 'file_search', file_search: { max_num_results: 3, ranking_options: DEFAULT_RANKING } },
    ],
    [
      'score_threshold only: the ranker filled',
      { type: 'file_search', file_search: { ranking_options: { score_threshold: 0.4 } } },
      { type: 'file_search', file_search: { ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0.4 } } },
    ],
    [
      'ranker auto: kept as sent',
      { type: 'file_search', file_search: { ranking_options: { ranker: 'auto', score_threshold: 0.2 } } },
      { type: 'file_search', file_search: { ranking_options: { ranker: 'auto', score_threshold: 0.2 } } },
    ],
  ])('%s', (_name, input, expected) => {
    expect(AssistantTool.parse(input)).toEqual(expected)
  })

  it('other tools are untouched; each parse gets its own default object', () => {
    expect(AssistantTool.parse({ type: 'code_interpreter' })).toEqual({ type: 'code_interpreter' })
    const a = AssistantTool.parse({ type: 'file_search' })
    const b = AssistantTool.parse({ type: 'file_search' })
    if (a.type !== 'file_search' || b.type !== 'file_search') throw new Error('not file_search')
    a.file_search.ranking_options.score_threshold = 0.9
    expect(b.file_search.ranking_options.score_threshold).toBe(0)
  })

  it('an assistant stored before the defaults existed reads back with them', () => {
    const stored = assistant([{ type: 'file_search' }], {})
    expect(Assistant.parse(stored).tools).toEqual([{ type: 'file_search', file_search: { ranking_options: DEFAULT_RANKING } }])
  })
})

describe("tool_resources: OpenAI's empty entry for each built-in tool", () => {
  const fn = { type: 'function', function: { name: 'f' } }

  it.each([
    ['no tools: nothing added', [], {}, {}],
    ['a function tool: nothing added', [fn], {}, {}],
    ['code_interpreter', [{ type: 'code_interpreter' }], {}, { code_interpreter: { file_ids: [] } }],
    ['file_search', [{ type: 'file_search' }], {}, { file_search: { vector_store_ids: [] } }],
    ['both', [{ type: 'file_search' }, { type: 'code_interpreter' }, fn], {}, { code_interpreter: { file_ids: [] }, file_search: { vector_store_ids: [] } }],
    [
      'given resources kept',
      [{ type: 'code_interpreter' }, { type: 'file_search' }],
      { file_search: { vector_store_ids: ['vs_1'] } },
      { code_interpreter: { file_ids: [] }, file_search: { vector_store_ids: ['vs_1'] } },
    ],
    ['resources of a tool it lacks kept', [], { code_interpreter: { file_ids: ['file-1'] } }, { code_interpreter: { file_ids: ['file-1'] } }],
    ['null with a tool', [{ type: 'code_interpreter' }], null, { code_interpreter: { file_ids: [] } }],
    ['null without one', [], null, null],
  ])('an assistant, also as stored before: %s', (_name, tools, stored, expected) => {
    expect(Assistant.parse(assistant(tools, stored)).tool_resources).toEqual(expected)
  })

  it('keeps the object when there is nothing to fill; never shares the filled one', () => {
    const resources = { code_interpreter: { file_ids: ['file-1'] } }
    expect(toolResourcesForTools(resources, [{ type: 'code_interpreter' }])).toBe(resources)
    const a = toolResourcesForTools({}, [{ type: 'code_interpreter' }])
    a!.code_interpreter!.file_ids!.push('file-2')
    expect(toolResourcesForTools({}, [{ type: 'code_interpreter' }])).toEqual({ code_interpreter: { file_ids: [] } })
  })

  it('a thread with a run: code_interpreter added whatever else it holds', () => {
    expect(threadToolResourcesForRun(undefined)).toEqual({ code_interpreter: { file_ids: [] } })
    expect(threadToolResourcesForRun(null)).toEqual({ code_interpreter: { file_ids: [] } })
    expect(threadToolResourcesForRun({ file_search: { vector_store_ids: ['vs_1'] } })).toEqual({
      code_interpreter: { file_ids: [] },
      file_search: { vector_store_ids: ['vs_1'] },
    })
    expect(threadToolResourcesForRun({ code_interpreter: { file_ids: ['file-1'] } })).toEqual({ code_interpreter: { file_ids: ['file-1'] } })
  })
})
