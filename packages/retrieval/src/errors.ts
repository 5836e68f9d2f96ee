/**
 * Why a file cannot be indexed, in the terms of OpenAI's vector store file `last_error.code`
 * (`unsupported_file`, `invalid_file`; `server_error` is everything else and is not thrown here).
 * `message` is safe to show to the API caller: it names the file's type or problem, never a path.
 */
export class FileProcessingError extends Error {
  constructor(
    readonly code: 'unsupported_file' | 'invalid_file',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'FileProcessingError'
  }
}

/** The file's type is not one file_search reads (`last_error.code: "unsupported_file"`). */
export class UnsupportedFileError extends FileProcessingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported_file', message, options)
    this.name = 'UnsupportedFileError'
  }
}

/** The file claims a supported type but cannot be read as one: corrupt, encrypted, not UTF-8, no text (`invalid_file`). */
export class InvalidFileError extends FileProcessingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_file', message, options)
    this.name = 'InvalidFileError'
  }
}
