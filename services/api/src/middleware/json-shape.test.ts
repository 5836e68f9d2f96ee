import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, checkJsonShape } from './json-shape.js'

const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`)

describe('checkJsonShape', () => {
  it('accepts bodies up to the depth limit and refuses one level more, saying how deep it is', () => {
    expect(checkJsonShape(nested(MAX_JSON_DEPTH))).toBeNull()
    const err = checkJsonShape(nested(MAX_JSON_DEPTH + 1))
    expect(err?.status).toBe(400)
    expect(err?.toBody().error).toEqual({
      message: `The JSON body is nested too deeply: ${MAX_JSON_DEPTH + 1} levels of objects and arrays, more than the ${MAX_JSON_DEPTH} this API accepts.`,
      type: 'invalid_request_error',
      param: null,
      code: 'json_too_deep',
    })
    // A million levels: no recursion anywhere, so no stack overflow.
    const deep = JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`)
    expect(checkJsonShape(deep)?.message).toContain('1000000 levels')
  })

  it('refuses a number too large for a double (JSON.parse makes it Infinity, later stored as null: a silent default)', () => {
    expect(checkJsonShape(JSON.parse('{"model":"m","top_p":1e999}'))?.toBody().error).toEqual({
      message: "Invalid 'top_p': the number is too large to represent (at most about 1.8e308).",
      type: 'invalid_request_error',
      param: 'top_p',
      code: 'invalid_value',
    })
    expect(checkJsonShape(JSON.parse('{"tools":[{"x":-1e400}]}'))?.toBody().error).toMatchObject({ param: 'tools[0].x' })
    expect(checkJsonShape(JSON.parse('{"temperature":1.7976931348623157e308,"n":-0}'))).toBeNull()
  })

  it('refuses a __proto__ key wherever it is, naming its path in OpenAI’s param notation', () => {
    expect(checkJsonShape(JSON.parse('{"__proto__":"x"}'))?.toBody().error).toMatchObject({ param: '__proto__', code: 'invalid_value' })
    const inArray = checkJsonShape(JSON.parse('{"messages":[{"role":"user"},{"metadata":{"__proto__":{}}}]}'))
    expect(inArray?.toBody().error).toMatchObject({
      message: "Invalid property name in 'messages[1].metadata': '__proto__' is not accepted as a key.",
      param: 'messages[1].metadata.__proto__',
    })
    expect(checkJsonShape(JSON.parse('{"metadata":{"constructor":"x","prototype":"y"}}'))).toBeNull()
  })
})
