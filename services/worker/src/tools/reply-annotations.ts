import type { MessageContent } from '@threadwork/domain'

type TextAnnotation = Extract<MessageContent, { type: 'text' }>['text']['annotations'][number]

/**
 * A file_search source marker as handed to the model: `【<call>:<result>†<file name>】`, OpenAI's
 * form (`【4:0†source】`). Citations are matched on the two numbers, so a model that shortens or
 * rewrites the name part still cites the right file.
 */
export const sourceMarker = (call: number, result: number, fileName: string) => `【${call}:${result}†${fileName.replace(/[】\n]/g, ' ')}】`
const MARKER = /【(\d+):(\d+)†[^】\n]*】/g
/** `sandbox:/mnt/data/<path>` up to whitespace or the end of a markdown link. */
const SANDBOX_LINK = /sandbox:(\/mnt\/data\/[^\s)\]"'<>]+)/g

/** What the run's built-in calls made, for annotating its reply. */
export interface ReplyRefs {
  /** `<call>:<result>` of a source marker → the file it came from. */
  citations: ReadonlyMap<string, string>
  /** `/mnt/data/<name>` → the File the code's output became. */
  files: ReadonlyMap<string, string>
}

/**
 * The annotations of a reply's text: a `file_citation` for each source marker of a file_search
 * result (the marker as it stands in the text), a `file_path` for each `sandbox:/mnt/data/…` link to
 * a file the code wrote. Indexes count Unicode code points, as OpenAI's (Python) service does;
 * they equal UTF-16 indexes unless astral characters (emoji) come before.
 */
export function annotateReply(text: string, refs: ReplyRefs): TextAnnotation[] {
  const found: { at: number; annotation: (start: number, end: number) => TextAnnotation; length: number }[] = []
  for (const m of text.matchAll(MARKER)) {
    const fileId = refs.citations.get(`${m[1]}:${m[2]}`)
    if (!fileId) continue
    found.push({ at: m.index, length: m[0].length, annotation: (start, end) => ({ type: 'file_citation', text: m[0], file_citation: { file_id: fileId }, start_index: start, end_index: end }) })
  }
  for (const m of text.matchAll(SANDBOX_LINK)) {
    const path = m[1]!
    const fileId = refs.files.get(path) ?? refs.files.get(safeDecode(path))
    if (!fileId) continue
    found.push({ at: m.index, length: m[0].length, annotation: (start, end) => ({ type: 'file_path', text: m[0], file_path: { file_id: fileId }, start_index: start, end_index: end }) })
  }
  found.sort((a, b) => a.at - b.at)
  return found.map((f) => {
    const start = codePoints(text, f.at)
    return f.annotation(start, start + codePoints(text.slice(f.at, f.at + f.length), f.length))
  })
}

/** Code points in `text` before UTF-16 offset `offset`. */
function codePoints(text: string, offset: number): number {
  let n = 0
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i)
    if (c < 0xd800 || c > 0xdbff || i + 1 >= offset) n++
    else {
      n++
      i++
    }
  }
  return n
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
