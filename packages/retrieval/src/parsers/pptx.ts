import { Parser } from 'htmlparser2'
import JSZip from 'jszip'
import { InvalidFileError } from '../errors.js'

const SLIDE = /^ppt\/slides\/slide(\d+)\.xml$/

/**
 * A PowerPoint (.pptx) deck's text: each slide's text runs (`<a:t>`) in document order, one line
 * per paragraph (`<a:p>`), slides in number order separated by blank lines. The zip is read by
 * `jszip`, the slide XML by `htmlparser2` (xmlMode). Throws InvalidFileError for a file that is
 * not a readable PPTX.
 */
export async function pptxText(bytes: Uint8Array): Promise<string> {
  let zip: JSZip
  try {
    zip = await JSZip.loadAsync(bytes)
  } catch (err) {
    throw new InvalidFileError('The file is not a readable PPTX presentation.', { cause: err })
  }
  const slides = Object.keys(zip.files)
    .map((name) => ({ name, n: Number(SLIDE.exec(name)?.[1]) }))
    .filter((s) => Number.isInteger(s.n))
    .sort((a, b) => a.n - b.n)
  if (slides.length === 0 && !zip.file('ppt/presentation.xml')) {
    throw new InvalidFileError('The file is not a readable PPTX presentation.')
  }
  const texts: string[] = []
  for (const slide of slides) {
    const xml = await zip.file(slide.name)!.async('string')
    const text = slideText(xml)
    if (text) texts.push(text)
  }
  return texts.join('\n\n')
}

function slideText(xml: string): string {
  const paragraphs: string[] = []
  let current = ''
  let inRun = false
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'a:t') inRun = true
        else if (name === 'a:br') current += '\n'
      },
      ontext(text) {
        if (inRun) current += text
      },
      onclosetag(name) {
        if (name === 'a:t') inRun = false
        else if (name === 'a:p') {
          if (current.trim()) paragraphs.push(current.trim())
          current = ''
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  )
  parser.write(xml)
  parser.end()
  return paragraphs.join('\n')
}
