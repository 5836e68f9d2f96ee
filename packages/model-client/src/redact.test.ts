import { describe, expect, it } from 'vitest'
import { redactSecrets, stripUrlCredentials } from './redact.js'

describe('redactSecrets', () => {
  it('removes keys, bearer tokens, URL credentials and query secrets', () => {
    const out = redactSecrets(
      'key sk-proj-AbC123_x-y used; Authorization: Bearer abc.def; see https://bob:hunter2@api.example/v1?api_key=zzz&x=1',
    )
    expect(out).toBe('key sk-*** used; Authorization: Bearer ***; see https://***@api.example/v1?api_key=***&x=1')
  })
  it('collapses whitespace and caps length', () => {
    expect(redactSecrets('a \n\n b')).toBe('a b')
    expect(redactSecrets('x'.repeat(2000))).toHaveLength(500)
  })
})

describe('stripUrlCredentials', () => {
  it('drops user info, leaves other URLs alone', () => {
    expect(stripUrlCredentials('https://u:p@h.example/v1')).toBe('https://h.example/v1')
    expect(stripUrlCredentials('http://127.0.0.1:11434/v1')).toBe('http://127.0.0.1:11434/v1')
  })
})
