import { extractText, getDocumentProxy } from 'unpdf'
import { InvalidFileError } from '../errors.js'
import { normalizeNewlines } from './text.js'

/**
 * The text of every page of a PDF, pages separated by a blank line (pdf.js through `unpdf`,
 * which needs no canvas). Throws InvalidFileError for a corrupt or password-protected file.
 */
export async function pdfText(bytes: Uint8Array): Promise<string> {
  let pages: string[]
  try {
    // pdf.js may transfer (detach) the buffer it is given: hand it a copy.
    // verbosity 0: pdf.js's warnings ("Indexing all PDF objects") would go to the worker's stdout.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 })
    try {
      pages = (await extractText(pdf, { mergePages: false })).text
    } finally {
      await pdf.destroy()
    }
  } catch (err) {
    const name = (err as { name?: unknown }).name
    const why = name === 'PasswordException' ? 'The PDF is password-protected.' : 'The file is not a readable PDF.'
    throw new InvalidFileError(why, { cause: err })
  }
  return normalizeNewlines(pages.map((p) => p.trim()).join('\n\n'))
}
