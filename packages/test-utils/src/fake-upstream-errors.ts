/** OpenAI's error body shape; openai-node reads `message`, `type`, `param` and `code` from it. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** An error body; `type` defaults to `invalid_request_error`. */
export const openAIError = (
  message: string,
  opts: { type?: string; param?: string | null; code?: string | null } = {},
): OpenAIErrorBody => ({
  error: { message, type: opts.type ?? 'invalid_request_error', param: opts.param ?? null, code: opts.code ?? null },
})

/** OpenAI's error body for a status, worded as its API words it. */
export function openAIErrorBody(status: number, model?: string): OpenAIErrorBody {
  switch (status) {
    case 400:
      return openAIError('Invalid request (fake upstream).')
    case 401:
      return openAIError('Incorrect API key provided.', { code: 'invalid_api_key' })
    case 403:
      return openAIError('You are not allowed to sample from this model.', {
        code: 'unsupported_country_region_territory',
      })
    case 404:
      return openAIError(`The model \`${model ?? 'unknown'}\` does not exist or you do not have access to it.`, {
        param: 'model',
        code: 'model_not_found',
      })
    case 429:
      return openAIError('Rate limit reached for requests (fake upstream). Please try again later.', {
        type: 'requests',
        code: 'rate_limit_exceeded',
      })
    case 503:
      return openAIError('The engine is currently overloaded, please try again later.', { type: 'server_error' })
    default:
      return status >= 500
        ? openAIError('The server had an error while processing your request. Sorry about that!', {
            type: 'server_error',
          })
        : openAIError(`Request failed with status ${status} (fake upstream).`)
  }
}
