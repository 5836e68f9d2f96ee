import { ApiError, type Assistant, RUN_ASSISTANT_FIELDS } from '@threadwork/domain'
import { type AssistantCheck, AssistantCache, type Keys, type RedisClient } from '@threadwork/storage'

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

/** The fields a start checks: the project, then what the run is made of (domain `RUN_ASSISTANT_FIELDS`). */
const CHECKED_FIELDS: readonly string[] = ['_project', ...RUN_ASSISTANT_FIELDS]

/**
 * The project's assistant `id` as this process last read it (`readAssistant`), without asking
 * Redis, with the check that makes it as good as a read in a turn's claim-and-start (storage
 * `turns.claimAndStart`: the fields the run is made of, and the project, still as read). Undefined
 * when this process has not read it (or read it as another project's).
 */
export function cachedAssistant(k: Keys, project: string, id: string): { assistant: Assistant; check: AssistantCheck } | undefined {
  const key = k.assistant(project, id)
  const entry = parsed.peek(key)
  if (!entry || entry.raw._project !== project) return undefined
  return { assistant: entry.assistant, check: { key, fields: CHECKED_FIELDS, values: CHECKED_FIELDS.map((f) => entry.raw[f] ?? '') } }
}
