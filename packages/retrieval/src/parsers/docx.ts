import mammoth from 'mammoth'
import { InvalidFileError } from '../errors.js'
import { normalizeNewlines } from './text.js'

/** A Word (.docx) document's text, paragraphs separated by blank lines (`mammoth`). Throws InvalidFileError for a file that is not a readable DOCX. */
export async function docxText(bytes: Uint8Array): Promise<string> {
  try {
    const result = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })
    return normalizeNewlines(result.value)
  } catch (err) {
    throw new InvalidFileError('The file is not a readable DOCX document.', { cause: err })
  }
}
