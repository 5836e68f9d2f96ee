import type { FilePurpose } from './resources/file.js'

/**
 * Extensions OpenAI accepts for `purpose: "assistants"`, as its error lists them
 * ("Invalid extension vb. Supported formats: "c", "cpp", …", openai/openai-dotnet#270), plus the
 * file_search and code_interpreter types its tool guides add (cs, doc, sh, css, htm(l), jsonl…).
 */
const ASSISTANTS_EXTENSIONS = [
  'c', 'cpp', 'cs', 'css', 'csv', 'doc', 'docx', 'gif', 'go', 'htm', 'html', 'java', 'jpeg', 'jpg', 'js', 'json', 'jsonl',
  'md', 'markdown', 'pdf', 'php', 'pkl', 'png', 'pptx', 'py', 'rb', 'sh', 'tar', 'tex', 'ts', 'tsv', 'txt', 'webp', 'xlsx', 'xml', 'yaml', 'yml', 'zip',
]

/** Extensions per upload purpose; `null` = any (user_data). Source: OpenAI's files guide. */
const EXTENSIONS: Partial<Record<FilePurpose, readonly string[] | null>> = {
  assistants: ASSISTANTS_EXTENSIONS,
  vision: ['png', 'jpeg', 'jpg', 'webp', 'gif'],
  batch: ['jsonl'],
  'fine-tune': ['jsonl'],
  evals: ['jsonl'],
  user_data: null,
}

/** Lower-case extension without the dot, or '' when the name has none. */
export const extensionOf = (filename: string): string => {
  const base = filename.split(/[\\/]/).at(-1) ?? ''
  const dot = base.lastIndexOf('.')
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : ''
}

/**
 * Why a file of this name cannot be uploaded for `purpose` (OpenAI's message), or null when it can.
 */
export function unsupportedFileReason(filename: string, purpose: FilePurpose): string | null {
  const allowed = EXTENSIONS[purpose]
  if (allowed === null || allowed === undefined) return null
  const ext = extensionOf(filename)
  if (allowed.includes(ext)) return null
  if (allowed.length === 1) return `Invalid file format for purpose '${purpose}'. Expected a .${allowed[0]} file, but got '${filename}'.`
  return `Invalid extension ${ext || '(none)'}. Supported formats: ${allowed.map((e) => `"${e}"`).join(', ')}`
}

const MIME: Record<string, string> = {
  c: 'text/x-c', cpp: 'text/x-c++', cs: 'text/x-csharp', css: 'text/css', csv: 'text/csv',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  gif: 'image/gif', go: 'text/x-golang', htm: 'text/html', html: 'text/html', java: 'text/x-java',
  jpeg: 'image/jpeg', jpg: 'image/jpeg', js: 'text/javascript', json: 'application/json', jsonl: 'application/jsonl',
  md: 'text/markdown', markdown: 'text/markdown', pdf: 'application/pdf', php: 'text/x-php', pkl: 'application/octet-stream',
  png: 'image/png', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', py: 'text/x-python',
  rb: 'text/x-ruby', sh: 'application/x-sh', tar: 'application/x-tar', tex: 'text/x-tex', ts: 'application/typescript',
  tsv: 'text/tab-separated-values', txt: 'text/plain', webp: 'image/webp',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xml: 'application/xml',
  yaml: 'application/yaml', yml: 'application/yaml', zip: 'application/zip', svg: 'image/svg+xml',
}

/** The content type to serve a file with, from its name (`application/octet-stream` when unknown). */
export const contentTypeOf = (filename: string): string => MIME[extensionOf(filename)] ?? 'application/octet-stream'
