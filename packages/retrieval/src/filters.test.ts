import { describe, expect, it } from 'vitest'
import { InvalidFilterError, MAX_FILTER_DEPTH, matchesFilter, parseAttributeFilter } from './filters.js'

const attrs = { author: 'Ada', year: 2024, draft: false, date: '2024-05-01' }
const m = (filter: unknown, a: Record<string, string | number | boolean> | null = attrs) => matchesFilter(a, parseAttributeFilter(filter))

describe('matchesFilter', () => {
  it('compares type and value', () => {
    expect(m({ type: 'eq', key: 'year', value: 2024 })).toBe(true)
    expect(m({ type: 'eq', key: 'year', value: '2024' })).toBe(false)
    expect(m({ type: 'ne', key: 'year', value: '2024' })).toBe(true)
    expect(m({ type: 'eq', key: 'draft', value: false })).toBe(true)
    expect(m({ type: 'gt', key: 'year', value: 2023 })).toBe(true)
    expect(m({ type: 'gte', key: 'year', value: 2024 })).toBe(true)
    expect(m({ type: 'lt', key: 'year', value: 2024 })).toBe(false)
    expect(m({ type: 'lte', key: 'date', value: '2024-12-31' })).toBe(true) // ISO dates order as strings
    expect(m({ type: 'gt', key: 'year', value: '2000' })).toBe(false) // number vs string: no order
    expect(m({ type: 'in', key: 'author', value: ['Ada', 'Grace'] })).toBe(true)
    expect(m({ type: 'nin', key: 'author', value: ['Ada'] })).toBe(false)
  })

  it('treats a missing key as failing all but ne and nin', () => {
    for (const type of ['eq', 'gt', 'gte', 'lt', 'lte']) expect(m({ type, key: 'nope', value: 1 })).toBe(false)
    expect(m({ type: 'in', key: 'nope', value: [1] })).toBe(false)
    expect(m({ type: 'ne', key: 'nope', value: 1 })).toBe(true)
    expect(m({ type: 'nin', key: 'nope', value: [1] })).toBe(true)
    expect(m({ type: 'eq', key: 'author', value: 'Ada' }, null)).toBe(false)
    // Inherited properties are not attributes.
    expect(m({ type: 'eq', key: 'constructor', value: 'x' })).toBe(false)
    expect(m({ type: 'ne', key: '__proto__', value: 'x' })).toBe(true)
  })

  it('combines with and/or, nested', () => {
    const ada2024 = {
      type: 'and',
      filters: [
        { type: 'eq', key: 'author', value: 'Ada' },
        { type: 'eq', key: 'year', value: 2024 },
      ],
    }
    expect(m(ada2024)).toBe(true)
    expect(m({ type: 'or', filters: [{ type: 'eq', key: 'author', value: 'Bob' }, ada2024] })).toBe(true)
    expect(m({ type: 'and', filters: [{ type: 'eq', key: 'author', value: 'Bob' }, ada2024] })).toBe(false)
    expect(m({ type: 'and', filters: [] })).toBe(true)
    expect(m({ type: 'or', filters: [] })).toBe(false)
  })
})

describe('parseAttributeFilter', () => {
  it('refuses malformed filters with a path to the problem', () => {
    expect(() => parseAttributeFilter({ type: 'in', key: 'a', value: 'x' })).toThrow(InvalidFilterError)
    expect(() => parseAttributeFilter({ type: 'eq', key: 'a', value: ['x'] })).toThrow(/value/)
    expect(() => parseAttributeFilter({ type: 'like', key: 'a', value: 'x' })).toThrow(InvalidFilterError)
    expect(() => parseAttributeFilter({ type: 'eq', key: 'a', value: 'x', extra: 1 })).toThrow(InvalidFilterError)
    expect(() => parseAttributeFilter({ type: 'and', filters: [{ type: 'eq', key: 'a' }] })).toThrow(/filters\.filters\[0\]/)
    expect(() => parseAttributeFilter(null)).toThrow(InvalidFilterError)
  })

  it('refuses nesting deeper than the limit', () => {
    let filter: unknown = { type: 'eq', key: 'a', value: 1 }
    for (let i = 0; i < MAX_FILTER_DEPTH + 2; i++) filter = { type: 'and', filters: [filter] }
    expect(() => parseAttributeFilter(filter)).toThrow(/nested deeper/)
  })
})
