/**
 * The file types file_search reads, after OpenAI's "Supported files" table for file_search
 * (platform.openai.com/docs/assistants/tools/file-search#supported-files): extension → MIME type
 * and the parser that reads it. Text encodings must be UTF-8, UTF-16 or ASCII, as OpenAI requires.
 *
 * Not supported, unlike OpenAI: `.doc` (legacy binary Word; no well-kept JavaScript reader).
 */
export type FileKind = 'text' | 'json' | 'html' | 'pdf' | 'docx' | 'pptx'

export interface SupportedFileType {
  /** Lower-case, with the dot: `.md`. */
  extension: string
  /** The MIME types OpenAI lists for it; the first is what `/files/{id}/content` should answer. */
  mimeTypes: readonly string[]
  kind: FileKind
}

const t = (extension: string, kind: FileKind, ...mimeTypes: string[]): SupportedFileType => ({ extension, kind, mimeTypes })

/** Every supported type, in OpenAI's table order (plus the code and text types it accepts). */
export const SUPPORTED_FILE_TYPES: readonly SupportedFileType[] = [
  t('.c', 'text', 'text/x-c'),
  t('.cpp', 'text', 'text/x-c++'),
  t('.cs', 'text', 'text/x-csharp'),
  t('.css', 'text', 'text/css'),
  t('.docx', 'docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'),
  t('.go', 'text', 'text/x-golang'),
  t('.html', 'html', 'text/html'),
  t('.java', 'text', 'text/x-java'),
  t('.js', 'text', 'text/javascript'),
  t('.json', 'json', 'application/json'),
  t('.md', 'text', 'text/markdown'),
  t('.pdf', 'pdf', 'application/pdf'),
  t('.php', 'text', 'text/x-php'),
  t('.pptx', 'pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'),
  t('.py', 'text', 'text/x-python', 'text/x-script.python'),
  t('.rb', 'text', 'text/x-ruby'),
  t('.sh', 'text', 'application/x-sh'),
  t('.tex', 'text', 'text/x-tex'),
  t('.ts', 'text', 'application/typescript'),
  t('.txt', 'text', 'text/plain'),
]

/** Lower-case extensions with the dot, for error messages and attach-time checks. */
export const SUPPORTED_EXTENSIONS: readonly string[] = SUPPORTED_FILE_TYPES.map((f) => f.extension)

/** Every MIME type OpenAI lists for a supported extension. */
export const SUPPORTED_MIME_TYPES: readonly string[] = [...new Set(SUPPORTED_FILE_TYPES.flatMap((f) => f.mimeTypes))]

const byExtension = new Map(SUPPORTED_FILE_TYPES.map((f) => [f.extension, f]))
const byMime = new Map(SUPPORTED_FILE_TYPES.flatMap((f) => f.mimeTypes.map((m) => [m, f] as const)))

/** `report.final.PDF` → `.pdf`; `''` when the name has no extension. */
export function fileExtension(filename: string): string {
  const base = filename.slice(filename.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot > 0 ? base.slice(dot).toLowerCase() : ''
}

/**
 * The supported type of a file, from its name's extension first (OpenAI decides by extension),
 * else from its content type (parameters such as `; charset=utf-8` ignored); null when neither
 * is supported. Use it at attach time to refuse with `unsupported_file` before any work.
 */
export function supportedFileType(file: { filename: string; contentType?: string | null | undefined }): SupportedFileType | null {
  const ext = fileExtension(file.filename)
  const fromExt = byExtension.get(ext)
  if (fromExt) return fromExt
  // A known but unsupported extension (`.exe`, `.png`) is not rescued by a text content type.
  if (ext) return null
  const mime = file.contentType?.split(';')[0]?.trim().toLowerCase()
  return (mime && byMime.get(mime)) || null
}

/** Whether file_search can read this file (see {@link supportedFileType}). */
export function isSupportedFile(file: { filename: string; contentType?: string | null | undefined }): boolean {
  return supportedFileType(file) !== null
}
