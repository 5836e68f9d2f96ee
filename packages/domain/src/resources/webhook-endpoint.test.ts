import { afterEach, describe, expect, it, vi } from 'vitest'
import { TurnCreateParams } from './turn.js'
import { webhookUrlProblem } from './webhook-endpoint.js'

describe('webhookUrlProblem', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('judges each shape as before, the second time as the first', () => {
    const cases: [string, string | null][] = [
      ['https://example.com/hook', null],
      ['http://127.0.0.1:8080/hook', null],
      ['ftp://example.com/x', 'must use the https or http scheme'],
      ['not a url', 'must be an absolute http(s) URL'],
      ['https://user:pw@example.com/', 'must not contain credentials'],
      [`https://example.com/${'a'.repeat(2100)}`, 'must be at most 2048 characters'],
      [`https://example.com/${'b'.repeat(300)}`, null],
    ]
    for (let round = 0; round < 2; round++) for (const [url, problem] of cases) expect(webhookUrlProblem(url), url).toBe(problem)
  })

  it('parses a repeated callback_url once (issue 14, a cost cut)', () => {
    const Real = URL
    let parsed = 0
    vi.stubGlobal(
      'URL',
      class extends Real {
        constructor(...args: ConstructorParameters<typeof URL>) {
          super(...args)
          parsed++
        }
      },
    )
    const body = { assistant_id: 'asst_1', content: 'hi', callback_url: 'http://127.0.0.1:9/repeated-hook' }
    for (let i = 0; i < 5; i++) expect(TurnCreateParams.safeParse(body).success).toBe(true)
    expect(TurnCreateParams.safeParse({ ...body, callback_url: 'ftp://127.0.0.1:9/repeated-hook' }).success).toBe(false)
    expect(TurnCreateParams.safeParse({ ...body, callback_url: 'ftp://127.0.0.1:9/repeated-hook' }).success).toBe(false)
    expect(parsed).toBe(2)
  })
})
