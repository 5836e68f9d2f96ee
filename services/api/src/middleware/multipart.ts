import { Readable } from 'node:stream'
import { ApiError } from '@threadwork/domain'
import Busboy from 'busboy'

export interface MultipartFile<T> {
  /** What `onFile` returned for the one file part. */
  result: T
  filename: string
  mimeType: string
}

export interface MultipartForm<T> {
  /** Text fields, bracket notation kept as sent (`expires_after[seconds]`). */
  fields: Record<string, string>
  file: MultipartFile<T> | null
}

/**
 * Limits on everything but a file part (its size is the storage side's limit). Text fields are
 * buffered by busboy, so they stay small; 1 MiB admits the file sent as a plain field (`-F data=…`).
 */
const LIMITS = { fields: 32, fieldSize: 1024 * 1024, parts: 40, headerPairs: 200 }

const malformed = (detail: string) =>
  ApiError.invalid(`Could not parse the multipart form body: ${detail}.`, null, 'invalid_multipart')

/**
 * Stream-parses a `multipart/form-data` request with busboy: text fields are collected, and the
 * one file part named `fileField` is handed to `onFile` as a stream the moment its headers arrive
 * (so its bytes go to storage as they come in; nothing buffers the whole body). Whatever `onFile`
 * stored is passed to `discard` if the form then turns out bad (a second file, malformed body).
 *
 * Errors (`ApiError`): 415 when the body is not multipart; 400 for a malformed body, a second
 * file or a file under another name; whatever `onFile` throws (e.g. 413 from the size limit).
 */
export async function readMultipart<T>(
  req: Request,
  fileField: string,
  onFile: (stream: Readable, info: { filename: string; mimeType: string }) => Promise<T>,
  discard: (result: T) => Promise<void>,
): Promise<MultipartForm<T>> {
  const contentType = req.headers.get('content-type') ?? ''
  if (!/^multipart\/form-data\b/i.test(contentType)) {
    throw new ApiError(415, `Unsupported content type '${contentType || 'none'}'. This endpoint expects multipart/form-data.`, {
      code: 'unsupported_media_type',
    })
  }
  let busboy: Busboy.Busboy
  try {
    // defParamCharset: busboy reads a part header's plain `filename="…"` as latin1 unless told
    // otherwise, but both SDKs (undici's FormData, httpx) and curl send the name's raw UTF-8
    // bytes there, so `大模型.md` came back as `å¤§æ¨¡å….md` (in files, citations and file_search).
    busboy = Busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { ...LIMITS, files: 1 } })
  } catch (err) {
    throw malformed((err as Error).message)
  }
  if (!req.body) throw malformed('the body is empty')
  const body = Readable.fromWeb(req.body as import('node:stream/web').ReadableStream)

  const fields: Record<string, string> = {}
  let filePromise: Promise<MultipartFile<T>> | null = null
  let failure: ApiError | null = null
  const fail = (err: ApiError) => {
    failure ??= err
  }

  const startFile = (stream: Readable, filename: string, mimeType: string) => {
    filePromise = onFile(stream, { filename, mimeType }).then((result) => ({ result, filename, mimeType }))
    // Settled later; an early rejection must not count as unhandled.
    filePromise.catch(() => {})
  }
  busboy.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(ApiError.invalid(`Invalid '${name}': value too long.`, name, 'string_above_max_length'))
    // The file sent as a plain text field (no filename), as `curl -F data=…` does.
    else if (name === fileField && !filePromise) startFile(Readable.from([Buffer.from(value)]), '', info.mimeType)
    else fields[name] = value
  })
  busboy.on('file', (name, stream, info) => {
    if (name !== fileField || filePromise) {
      fail(name !== fileField ? ApiError.invalid(`Unknown parameter: '${name}'.`, name, 'unknown_parameter') : ApiError.invalid(`Only one '${fileField}' may be sent.`, fileField))
      stream.resume()
      return
    }
    startFile(stream, info.filename ?? '', info.mimeType)
  })
  busboy.on('filesLimit', () => fail(ApiError.invalid(`Only one '${fileField}' may be sent.`, fileField)))
  busboy.on('fieldsLimit', () => fail(ApiError.invalid('Too many form fields.')))
  busboy.on('partsLimit', () => fail(ApiError.invalid('Too many form parts.')))

  const parsed = new Promise<void>((resolve) => {
    busboy.once('close', () => resolve())
    // `on`, not `once`: busboy may report a broken body more than once.
    busboy.on('error', (err) => {
      if (failure) return
      fail(malformed((err as Error).message.replace(/\.$/, '')))
      // Keep draining the request so the client reads the answer rather than a reset.
      body.unpipe(busboy)
      body.resume()
      body.once('end', () => resolve())
      body.once('error', () => resolve())
    })
    body.once('error', (err) => {
      fail(malformed('the request body was cut off'))
      // Ends the file part with the error too, so its storage write aborts instead of waiting forever.
      busboy.destroy(err)
      resolve()
    })
  })
  body.pipe(busboy)
  await parsed

  // Both are set in event callbacks, which TypeScript's narrowing cannot see.
  const pending = filePromise as Promise<MultipartFile<T>> | null
  const failed = () => failure as ApiError | null
  let file: MultipartFile<T> | null = null
  if (pending) {
    try {
      file = await pending
    } catch (err) {
      // A malformed form often also breaks the file stream; report the form's fault first.
      throw failed() ?? err
    }
  }
  const fault = failed()
  if (fault) {
    if (file) await discard(file.result)
    throw fault
  }
  return { fields, file }
}

/**
 * Form fields to an object the zod schemas validate: `a[b]=v` → `{a: {b: v}}` (how the SDKs send
 * nested values such as `expires_after[seconds]`). Numbers stay strings; schemas coerce them.
 */
export function nestFields(fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(fields)) {
    const m = /^([^[\]]+)\[([^[\]]+)\]$/.exec(name)
    if (!m) {
      out[name] = value
      continue
    }
    const parent = (out[m[1]!] ??= {}) as Record<string, unknown>
    if (typeof parent === 'object') parent[m[2]!] = value
  }
  return out
}
