import { ApiError, isObjectId } from '@threadwork/domain'
import { fileNotFound, uploadNotFound } from '@threadwork/files'

/**
 * A path id that no object can have (domain `isObjectId`) is refused before Redis is asked:
 * `runs/run_x:steps` read the run's steps index (a sorted set) as the run's hash and Redis
 * answered WRONGTYPE, a 500, and `webhook_endpoints/callback:deliveries` the same. Model names are
 * not ids (`llama3:8b`, `ft:gpt-4o:…`), so `{model}` is not checked.
 */
/** The 404 each path parameter's object answers when it is not there, as its store words it. */
const notFoundFor: Record<string, (id: string) => ApiError> = {
  assistant_id: (id) => ApiError.notFound('assistant', id),
  thread_id: (id) => ApiError.notFound('thread', id),
  message_id: (id) => ApiError.notFound('message', id),
  run_id: (id) => ApiError.notFound('run', id),
  step_id: (id) => ApiError.notFound('run step', id),
  turn_id: (id) => ApiError.notFound('turn', id),
  file_id: fileNotFound,
  upload_id: uploadNotFound,
  vector_store_id: (id) => ApiError.notFound('vector store', id),
  batch_id: (id) => ApiError.notFound('vector store file batch', id),
  webhook_endpoint_id: (id) => ApiError.notFound('webhook endpoint', id),
  delivery_id: (id) => ApiError.notFound('webhook delivery', id),
}

/** The 404 for the first path parameter that cannot be an id, or null when all can. */
export function badObjectId(params: Record<string, string>): ApiError | null {
  for (const [name, value] of Object.entries(params)) {
    const notFound = notFoundFor[name]
    if (notFound && !isObjectId(value)) return notFound(value)
  }
  return null
}
