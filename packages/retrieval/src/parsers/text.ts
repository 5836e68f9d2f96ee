import { InvalidFileError } from '../errors.js'

/**
 * Decodes a text file as OpenAI requires them (UTF-8, UTF-16 or ASCII): a UTF-16 byte-order mark
 * selects UTF-16 LE/BE, a UTF-8 one is dropped, anything else must be valid UTF-8.
 * Throws InvalidFileError for bytes that are not text (invalid UTF-8, or NUL bytes, which no
 * source or prose file has but every binary does).
 */
export function decodeText(bytes: Uint8Array): string {
  let encoding = 'utf-8'
  if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = 'utf-16le'
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = 'utf-16be'
  let text: string
  try {
    // TextDecoder drops a BOM of its own encoding (ignoreBOM: false).
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes)
  } catch (err) {
    throw new InvalidFileError('The file is not valid UTF-8 or UTF-16 text.', { cause: err })
  }
  if (text.includes('\u0000')) throw new InvalidFileError('The file contains binary data, not text.')
  return normalizeNewlines(text)
}

/** `\r\n` and lone `\r` → `\n`, so chunk boundaries and token counts do not depend on the platform that wrote the file. */
export function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text
}

/**
 * A JSON file: must parse (else InvalidFileError). Kept as written when it has line breaks; a
 * one-line (minified) document is re-indented so chunks break between members, not mid-value.
 */
export function jsonText(bytes: Uint8Array): string {
  const text = decodeText(bytes)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new InvalidFileError('The file is not valid JSON.', { cause: err })
  }
  return text.trim().includes('\n') ? text : JSON.stringify(value, null, 2)
}
