export type ApiErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503

export interface ApiErrorOptions {
  type?: string
  code?: string | null
  param?: string | null
  cause?: unknown
  headers?: Record<string, string>
}

/** OpenAI's error body: all four keys always present. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/**
 * The one error type every layer throws when a request cannot be served. The API renders it as
 * OpenAI's `{"error":{…}}` body with its status, which the official SDKs map to their error classes.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ApiErrorStatus,
    message: string,
    readonly opts: ApiErrorOptions = {},
  ) {
    super(message, { cause: opts.cause })
    this.name = 'ApiError'
  }

  toBody(): ErrorBody {
    return {
      error: {
        message: this.message,
        type: this.opts.type ?? (this.status >= 500 ? 'server_error' : 'invalid_request_error'),
        param: this.opts.param ?? null,
        code: this.opts.code ?? null,
      },
    }
  }

  /** OpenAI's wording: `No assistant found with id 'asst_…'.` */
  static notFound = (kind: string, id: string) => new ApiError(404, `No ${kind} found with id '${id}'.`)

  static invalid = (message: string, param: string | null = null, code: string | null = null) =>
    new ApiError(400, message, { param, code })
}
