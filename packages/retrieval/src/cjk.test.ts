import { describe, expect, it } from 'vitest'
import { cjkTerms, cjkWordTerms, hasCjk } from './cjk.js'
import { analyze, coverageScorer } from './lexical.js'

describe('cjk', () => {
  it('splits CJK runs into overlapping bigrams and keeps the Latin pieces between them, lower-cased', () => {
    expect(cjkWordTerms('液压泵')).toEqual(['液压', '压泵'])
    expect(cjkWordTerms('泵')).toEqual(['泵'])
    expect(cjkWordTerms('使用LoRA方法')).toEqual(['使用', 'lora', '方法'])
    expect(cjkWordTerms('压力为40巴')).toEqual(['压力', '力为', '40', '巴'])
    expect(cjkWordTerms('시일교환')).toEqual(['시일', '일교', '교환'])
  })

  it('cjkTerms: empty without CJK (what English rows store); with allWords, the other words too', () => {
    expect(cjkTerms('Replace the pump seals.')).toBe('')
    expect(cjkTerms('The 液压泵 runs at 40 bar')).toBe('液压 压泵')
    expect(cjkTerms('The 液压泵 runs', true)).toBe('the 液压 压泵 runs')
    expect(hasCjk('ポンプ')).toBe(true)
    expect(hasCjk('pompe à eau')).toBe(false)
  })

  it('the reranker sees CJK query terms in a chunk (coverage), and English scoring is unchanged', () => {
    expect(analyze('液压泵的压力')).toEqual(['液压', '压泵', '泵的', '的压', '压力'])
    const score = coverageScorer(['液压泵的压力'])
    expect(score('液压泵的额定压力为40巴。')).toBeGreaterThan(0.5)
    expect(score('面包面团需要揉十分钟')).toBe(0)
    expect(coverageScorer(['pump seals'])('Replace the pump seals.')).toBe(1)
    expect(analyze("The manual's policies")).toEqual(['manual', 'policy'])
  })
})
