import { ApiError } from '@threadwork/domain'
import type { ModelStatus } from '@threadwork/model-client'

/** Answers whether a model name can be used (`createModelCheck` over the provider router). */
export type ModelStatusOf = (model: string) => ModelStatus | Promise<ModelStatus>

export type ModelGate = ReturnType<typeof createModelGate>

/**
 * Refuses unknown model names when assistants and runs are created (issue 12 item 9), with
 * OpenAI's 400 `model_not_found`. `param` is where the name was sent (`model`, or `run.model` on a
 * turn). With no provider configured at all, an assistant is still accepted (there is nothing to
 * check against; its runs are refused until a provider serves the model).
 */
export function createModelGate(statusOf: ModelStatusOf) {
  const refuse = (model: string, status: ModelStatus, param: string) =>
    status === 'not_found'
      ? ApiError.invalid(`The requested model '${model}' does not exist.`, param, 'model_not_found')
      : status === 'unconfigured'
        ? ApiError.invalid(`No model provider is configured, so the model '${model}' cannot run: set UPSTREAM_BASE_URL (and UPSTREAM_API_KEY) or PROVIDERS_FILE, then restart.`, param, 'model_not_found')
        : ApiError.invalid(`The model '${model}' does not exist or is not served by any configured provider.`, param, 'model_not_found')
  return {
    /** For a run (create-run, create-thread-and-run, turns): the model must be served. */
    async forRun(model: string, param = 'model'): Promise<void> {
      const status = await statusOf(model)
      if (status !== 'ok') throw refuse(model, status, param)
    },
    /** For assistant create and modify. */
    async forAssistant(model: string): Promise<void> {
      const status = await statusOf(model)
      if (status !== 'ok' && status !== 'unconfigured') throw refuse(model, status, 'model')
    },
  }
}
