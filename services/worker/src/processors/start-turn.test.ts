import { type Assistant, RUN_ASSISTANT_FIELDS, newId, newTurn, nowSeconds } from '@threadwork/domain'
import { describe, expect, it } from 'vitest'
import { turnStartOf } from './start-turn.js'

describe('turnStartOf', () => {
  it('reads of the assistant only its id and RUN_ASSISTANT_FIELDS, the fields a cached copy is checked on (startTurn-7.lua)', () => {
    const assistant: Assistant = {
      id: newId('asst'),
      object: 'assistant',
      created_at: 1,
      name: 'n',
      description: 'd',
      model: 'm',
      instructions: 'i',
      tools: [{ type: 'code_interpreter' }],
      tool_resources: { code_interpreter: { file_ids: [] } },
      metadata: { k: 'v' },
      temperature: 0.5,
      top_p: 0.9,
      response_format: 'auto',
      reasoning_effort: 'low',
    }
    const read = new Set<string | symbol>()
    const watched = new Proxy(assistant, {
      get(target, field, receiver) {
        read.add(field)
        return Reflect.get(target, field, receiver)
      },
    })
    const turn = newTurn({ id: newId('turn'), threadId: 'thread_1', assistantId: assistant.id, createdAt: nowSeconds() })
    const built = turnStartOf('thread_1', turn, { assistant_id: assistant.id, content: 'hi' }, watched, `turn:${turn.id}`, 600)
    expect(built.run).toMatchObject({ assistant_id: assistant.id, model: 'm', instructions: 'i', temperature: 0.5 })
    expect(built.runInternal._reasoning_effort).toBe('low')
    expect([...read].filter((f) => f !== 'id' && !(RUN_ASSISTANT_FIELDS as readonly (string | symbol)[]).includes(f))).toEqual([])
  })
})
