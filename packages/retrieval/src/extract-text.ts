import { InvalidFileError, UnsupportedFileError } from './errors.js'
import { SUPPORTED_EXTENSIONS, fileExtension, supportedFileType } from './file-types.js'
import { docxText } from './parsers/docx.js'
import { htmlText } from './parsers/html.js'
import { pdfText } from './parsers/pdf.js'
import { pptxText } from './parsers/pptx.js'
import { decodeText, jsonText } from './parsers/text.js'

export interface ExtractTextInput {
  bytes: Uint8Array
  /** The File's `filename`; its extension picks the parser (OpenAI's rule). */
  filename: string
  /** Used only when the name has no extension. */
  contentType?: string | null
}

/**
 * The searchable text of a file: text, markdown and code as written (UTF-8/UTF-16), JSON
 * validated, HTML to visible text, PDF (pdf.js via unpdf), DOCX (mammoth), PPTX (slide text).
 * Line endings become `\n`.
 *
 * Throws UnsupportedFileError (`unsupported_file`) for a type outside SUPPORTED_FILE_TYPES and
 * InvalidFileError (`invalid_file`) for a file that cannot be read as its type or holds no text.
 */
export async function extractText(input: ExtractTextInput): Promise<{ text: string }> {
  const type = supportedFileType(input)
  if (!type) {
    const ext = fileExtension(input.filename)
    const what = ext ? `'${ext}' files` : `files of type '${input.contentType ?? 'unknown'}'`
    throw new UnsupportedFileError(`File search does not support ${what}. Supported extensions: ${SUPPORTED_EXTENSIONS.join(', ')}.`)
  }
  const { bytes } = input
  let text: string
  switch (type.kind) {
    case 'text':
      text = decodeText(bytes)
      break
    case 'json':
      text = jsonText(bytes)
      break
    case 'html':
      text = htmlText(bytes)
      break
    case 'pdf':
      text = await pdfText(bytes)
      break
    case 'docx':
      text = await docxText(bytes)
      break
    case 'pptx':
      text = await pptxText(bytes)
      break
  }
  if (text.trim() === '') throw new InvalidFileError('The file contains no text to search.')
  return { text }
}
