import {
  ApiError,
  type ListPage,
  type ListQuery,
  Message,
  type MessageCreateParams,
  type MessageDeleted,
  type MessageUpdateParams,
} from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, scripts } from './scripts.js'
import { buildMessages, messageArgs } from './thread-store.js'

export type MessageStore = ReturnType<typeof createMessageStore>

/** OpenAI's thread-lock error for adding a message while a run is active. */
export const threadLockedForMessages = (threadId: string, runId: string) =>
  ApiError.invalid(`Can't add messages to ${threadId} while a run ${runId} is active.`)

export function createMessageStore(redis: RedisClient, k: Keys) {
  const threadNotFound = (id: string) => ApiError.notFound('thread', id)
  const notFound = (id: string) => ApiError.notFound('message', id)

  return {
    async create(project: string, threadId: string, params: MessageCreateParams): Promise<Message> {
      const [message] = buildMessages(threadId, [params]) as [Message]
      const status = await runScript<string>(redis, scripts.appendMessages, [k.thread(threadId), k.messages(threadId)], [
        project,
        k.messagePrefix(threadId),
        ...messageArgs([message]),
      ])
      if (status === 'NOT_FOUND') throw threadNotFound(threadId)
      if (status.startsWith('ACTIVE:')) throw threadLockedForMessages(threadId, status.slice('ACTIVE:'.length))
      return message
    },

    async get(project: string, threadId: string, id: string): Promise<Message> {
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [k.thread(threadId), k.message(threadId, id)], [project])
      if (!raw) throw notFound(id)
      return Message.parse(decodeFields(raw))
    },

    async update(project: string, threadId: string, id: string, params: MessageUpdateParams): Promise<Message> {
      const changes: Record<string, unknown> = { ...params }
      if (params.metadata === null) changes.metadata = {}
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [k.thread(threadId), k.message(threadId, id)], [
        project,
        ...encodeFields(changes),
      ])
      if (!raw) throw notFound(id)
      return Message.parse(decodeFields(raw))
    },

    async delete(project: string, threadId: string, id: string): Promise<MessageDeleted> {
      const removed = await runScript<number>(
        redis,
        scripts.deleteIndexed,
        [k.thread(threadId), k.messages(threadId), k.message(threadId, id)],
        [project, id, k.runPrefix(threadId)],
      )
      if (!removed) throw notFound(id)
      return { id, object: 'thread.message.deleted', deleted: true }
    },

    list(project: string, threadId: string, query: ListQuery & { run_id?: string }): Promise<ListPage<Message>> {
      return listPage(redis, {
        ownerKey: k.thread(threadId),
        indexKey: query.run_id ? k.runMessages(threadId, query.run_id) : k.messages(threadId),
        objectPrefix: k.messagePrefix(threadId),
        project,
        parse: (raw) => Message.parse(raw),
        notFound: () => threadNotFound(threadId),
      }, query)
    },
  }
}
