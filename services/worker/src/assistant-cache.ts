import { ApiError, type Assistant } from '@threadwork/domain'
import { AssistantCache, type Keys, type RedisClient } from '@threadwork/storage'

const parsed = new AssistantCache()

/**
 * The project's assistant `id` as `stores.assistants.get` reads it (one `HGETALL`; 404 when it is
 * not there or another project's), parsed through this process's cache.
 * @throws ApiError 404
 */
export async function readAssistant(redis: RedisClient, k: Keys, project: string, id: string): Promise<Assistant> {
  const assistant = assistantFromFields(k, project, id, await redis.hgetall(k.assistant(project, id)))
  if (!assistant) throw ApiError.notFound('assistant', id)
  return assistant
}

/**
 * The project's assistant `id` from its stored fields `raw` (as `HGETALL` gives them, read
 * elsewhere: the drain's claim), parsed through this process's cache; null when they are not
 * there or another project's.
 */
export function assistantFromFields(k: Keys, project: string, id: string, raw: Record<string, string>): Assistant | null {
  if (raw._project !== project) return null
  return parsed.parse(k.assistant(project, id), raw)
}
