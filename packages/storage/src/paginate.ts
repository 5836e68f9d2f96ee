import { ApiError, type ListPage, type ListQuery } from '@threadwork/domain'
import { decodeFields } from './codec.js'
import { type RedisClient, runScript, scripts } from './scripts.js'

export interface PageSource<T> {
  ownerKey: string
  indexKey: string
  objectPrefix: string
  project: string
  parse: (raw: Record<string, unknown>) => T
  /** Thrown when the owner (thread, project) does not exist for this project. */
  notFound: () => ApiError
}

/** One page of an index, with OpenAI's list envelope; O(log n + limit) in one round trip. */
export async function listPage<T extends { id: string }>(redis: RedisClient, src: PageSource<T>, q: ListQuery): Promise<ListPage<T>> {
  const reply = await runScript<[string, ...unknown[]]>(redis, scripts.listPage, [src.ownerKey, src.indexKey], [
    src.project,
    q.order,
    q.after ?? '',
    q.before ?? '',
    q.limit,
    src.objectPrefix,
  ])
  if (reply[0] === 'NOT_FOUND') throw src.notFound()
  if (reply[0] === 'BAD_CURSOR') {
    const param = String(reply[1])
    throw ApiError.invalid(`Invalid '${param}': no object with id '${param === 'after' ? q.after : q.before}' in this list.`, param, 'invalid_value')
  }
  const data = (reply.slice(2) as string[][]).filter((h) => h.length > 0).map((h) => src.parse(decodeFields(h)))
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: reply[1] === 1,
  }
}
