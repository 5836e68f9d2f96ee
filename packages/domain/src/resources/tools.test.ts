import { describe, expect, it } from 'vitest'
import { Assistant } from './assistant.js'
import { AssistantTool } from './tools.js'

const DEFAULT_RANKING = { ranker: 'default_2024_08_21', score_threshold: 0 }

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
    const stored = {
      id: 'asst_1',
      object: 'assistant',
      created_at: 1,
      name: null,
      description: null,
      model: 'gpt-4o-mini',
      instructions: null,
      tools: [{ type: 'file_search' }],
      tool_resources: {},
      metadata: {},
      temperature: 1,
      top_p: 1,
      response_format: 'auto',
    }
    expect(Assistant.parse(stored).tools).toEqual([{ type: 'file_search', file_search: { ranking_options: DEFAULT_RANKING } }])
  })
})
