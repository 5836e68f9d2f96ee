import { describe, expect, it } from 'vitest'
import { encodeFields } from './codec.js'
import { JsonOnce } from './json-once.js'

describe('JsonOnce', () => {
  const message = { id: 'msg_1', object: 'thread.message', content: [{ type: 'text', text: { value: 'hé "quoted"\n', annotations: [] } }], run_id: null, skipped: undefined }
  const run = { id: 'run_1', status: 'completed', usage: { prompt_tokens: 3 }, tools: [{ type: 'function', function: { name: 'f', strict: undefined } }], n: 1.5 }

  it("gives an object's hash fields as codec encodeFields does", () => {
    expect(new JsonOnce().fields(message)).toEqual(encodeFields(message))
  })

  it('encodes as JSON.stringify does, objects named again spliced in from their first encoding', () => {
    const json = new JsonOnce()
    json.fields(message)
    const turnEvent = { turn: { id: 'turn_1', last_error: null, gone: undefined }, run, messages: [message, undefined, 'x', 2, true] }
    for (const value of [message, run, turnEvent, [turnEvent, run], 'text', 3, null, [], {}, { a: [] }, { d: new Date(0) }]) {
      expect(json.stringify(value)).toBe(JSON.stringify(value))
    }
    // The run's second appearance (inside the turn event) is the first one's text, not a new encoding.
    const again = new JsonOnce()
    const first = again.stringify(run)
    expect(again.stringify({ run })).toBe(`{"run":${first}}`)
    run.status = 'changed after encoding'
    expect(again.stringify({ run })).toBe(`{"run":${first}}`)
  })
})
