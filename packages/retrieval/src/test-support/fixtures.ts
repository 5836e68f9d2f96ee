import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx'
import JSZip from 'jszip'
import { PDFDocument, StandardFonts } from 'pdf-lib'

/** A real PDF (pdf-lib, Helvetica) with one page per entry of `pages`, each a few lines of text. */
export async function makePdf(pages: string[][]): Promise<Buffer> {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  for (const lines of pages) {
    const page = doc.addPage([612, 792])
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 16, size: 12, font }))
  }
  return Buffer.from(await doc.save())
}

/** A real DOCX (the `docx` package): a heading, then one paragraph per entry. */
export async function makeDocx(heading: string, paragraphs: string[]): Promise<Buffer> {
  const doc = new Document({
    sections: [
      {
        children: [new Paragraph({ text: heading, heading: HeadingLevel.HEADING_1 }), ...paragraphs.map((p) => new Paragraph({ children: [new TextRun(p)] }))],
      },
    ],
  })
  return Packer.toBuffer(doc)
}

const slideXml = (paragraphs: string[]) =>
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
  '<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">' +
  '<p:cSld><p:spTree><p:sp><p:txBody>' +
  paragraphs.map((p) => `<a:p><a:r><a:rPr lang="en-US"/><a:t>${p.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</a:t></a:r></a:p>`).join('') +
  '</p:txBody></p:sp></p:spTree></p:cSld></p:sld>'

/**
 * A minimal PPTX: the OOXML package parts a reader needs (content types, presentation, slides
 * `ppt/slides/slideN.xml` with DrawingML text runs). Slides are numbered from 1 in the given order.
 */
export async function makePptx(slides: string[][]): Promise<Buffer> {
  const zip = new JSZip()
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>' +
      slides
        .map(
          (_, i) => `<Override PartName="/ppt/slides/slide${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>`,
        )
        .join('') +
      '</Types>',
  )
  zip.file('ppt/presentation.xml', '<?xml version="1.0"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>')
  slides.forEach((paragraphs, i) => zip.file(`ppt/slides/slide${i + 1}.xml`, slideXml(paragraphs)))
  return zip.generateAsync({ type: 'nodebuffer' })
}
