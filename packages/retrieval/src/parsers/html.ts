import { convert } from 'html-to-text'
import { decodeText } from './text.js'

// Readable text only: link targets and images carry no words to search; no hard wrapping, so
// sentences stay whole for chunking and keyword search.
const OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    // Headings keep their case (the default upper-cases them): chunks are quoted back to users.
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    // Every table laid out as cells in columns (the default runs a layout table's cells together).
    { selector: 'table', format: 'dataTable' },
  ],
}

/** An HTML document's visible text (`html-to-text`: headings, lists and tables kept as lines). */
export function htmlText(bytes: Uint8Array): string {
  return convert(decodeText(bytes), OPTIONS)
}
