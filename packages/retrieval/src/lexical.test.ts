import { describe, expect, it } from 'vitest'
import { coverageScorer, termCoverage, termSet } from './lexical.js'

// The definition coverageScorer must keep: the best coverage of any query over the chunk's term set.
const reference = (queries: string[], text: string) => Math.max(0, ...queries.map((q) => termCoverage(termSet(q), termSet(text))))

describe('coverageScorer', () => {
  const texts = [
    'The zebras are fed hay at noon; the zebra keeper feeds them twice.',
    'Invoices: a late payment fee of 2% applies to every unpaid invoice.',
    'Does the doe know? Policies, policy and the manual\u2019s index.',
    'ÉLÉPHANTS et girafes: 42 feedings, 3 keepers.',
    '',
    '... --- !!!',
  ]
  const queries = [
    ['When are the zebras fed?'],
    ['late payment fee on an invoice', 'zebra hay'],
    ['doe policies manual'],
    ['éléphants 42'],
    ['the of and'], // only stop words: no terms
    [''],
  ]

  it('equals the best term coverage over each query, for every chunk', () => {
    for (const q of queries) {
      const coverage = coverageScorer(q)
      for (const text of texts) expect(coverage(text)).toBeCloseTo(reference(q, text), 12)
    }
  })

  it('does not count a stop word whose folded form is a query term (`does` is not `doe`)', () => {
    expect(coverageScorer(['doe'])('Does it?')).toBe(0)
    expect(coverageScorer(['doe'])('A doe.')).toBe(1)
  })

  it('weights terms by length and stops at full coverage', () => {
    // `zebra` (5) found, `keeper` (6) not: 5/11.
    expect(coverageScorer(['zebras keepers'])('Zebra.')).toBeCloseTo(5 / 11, 12)
    expect(coverageScorer(['zebras keepers'])('zebra keeper zebra keeper')).toBe(1)
  })
})
