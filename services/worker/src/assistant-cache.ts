import { ApiError, type Assistant } from '@threadwork/domain'
import { AssistantCache, type Keys, type RedisClient } from '@threadwork/storage'

const parsed = new AssistantCache()

/**
 * The project's assistant `id` as `stores.assistants.get` reads it (one `HGETALL`; 404 when it is
 * not there or another project's), parsed through this process's cache.
 * @throws ApiError 404
 */
export async function readAssistant(redis: RedisClient, k: Keys, project: string, id: string): Promise<Assistant> {
  const key = k.assistant(project, id)
  const raw = await redis.hgetall(key)
  if (raw._project !== project) throw ApiError.notFound('assistant', id)
  return parsed.parse(key, raw)
}
