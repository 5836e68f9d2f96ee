import { describe, expect, it } from 'vitest'
import { annotateReply, sourceMarker } from './reply-annotations.js'

describe('annotateReply', () => {
  const refs = {
    citations: new Map([
      ['0:1', 'file-manual'],
      ['1:0', 'file-faq'],
    ]),
    files: new Map([['/mnt/data/report final.csv', 'file-out']]),
  }

  it('cites each known marker where it stands and links sandbox paths to their Files', () => {
    const text = `The pump runs at 40 bar ${sourceMarker(0, 1, 'manual.md')}. Reset it with F2【1:0†source】, not 【9:9†x】. Download [it](sandbox:/mnt/data/report%20final.csv).`
    const annotations = annotateReply(text, refs)
    expect(annotations).toHaveLength(3)
    for (const a of annotations) expect(text.slice(a.start_index, a.end_index)).toBe(a.text)
    expect(annotations[0]).toMatchObject({ type: 'file_citation', text: '【0:1†manual.md】', file_citation: { file_id: 'file-manual' } })
    expect(annotations[1]).toMatchObject({ type: 'file_citation', text: '【1:0†source】', file_citation: { file_id: 'file-faq' } })
    expect(annotations[2]).toMatchObject({ type: 'file_path', text: 'sandbox:/mnt/data/report%20final.csv', file_path: { file_id: 'file-out' } })
  })

  it('counts code points, as OpenAI does, after astral characters', () => {
    const text = `🙂 fact 【0:1†m】`
    const [a] = annotateReply(text, refs)
    expect(a!.start_index).toBe(Array.from(text).indexOf('【'))
    expect(Array.from(text).slice(a!.start_index, a!.end_index).join('')).toBe('【0:1†m】')
  })

  it('leaves a reply without markers unannotated', () => {
    expect(annotateReply('plain answer', refs)).toEqual([])
  })
})
