import {
  ApiError,
  type Message,
  type MessageCreateParams,
  Thread,
  type ThreadCreateParams,
  type ThreadDeleted,
  type ThreadUpdateParams,
  newId,
  newMessage,
  nowSeconds,
} from '@threadwork/domain'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import { type RedisClient, runScript, scripts } from './scripts.js'

/** A deleted thread's run event streams stay this long, so open streams read the last state and end. */
export const DELETED_RUN_EVENTS_TTL_SECONDS = 60

export type ThreadStore = ReturnType<typeof createThreadStore>

/** Flattens messages for the create/append scripts: id, item count, field/value items. */
export function messageArgs(messages: Message[]): (string | number)[] {
  const out: (string | number)[] = []
  for (const m of messages) {
    const fields = encodeFields(m)
    out.push(m.id, fields.length, ...fields)
  }
  return out
}

/** Builds stored messages for client-supplied params, created now on `threadId`. */
export function buildMessages(threadId: string, params: MessageCreateParams[] = []): Message[] {
  const createdAt = nowSeconds()
  return params.map((p) => newMessage({ id: newId('msg'), threadId, createdAt, params: p }))
}

export function createThreadStore(redis: RedisClient, k: Keys) {
  const notFound = (id: string) => ApiError.notFound('thread', id)

  return {
    async create(project: string, params: ThreadCreateParams = {}, id: string = newId('thread')): Promise<{ thread: Thread; messages: Message[] }> {
      const thread: Thread = {
        id,
        object: 'thread',
        created_at: nowSeconds(),
        tool_resources: params.tool_resources ?? {},
        metadata: params.metadata ?? {},
      }
      const messages = buildMessages(thread.id, params.messages)
      const fields = encodeFields(thread)
      await runScript(redis, scripts.createThread, [k.thread(thread.id), k.messages(thread.id)], [
        project,
        k.messagePrefix(thread.id),
        fields.length,
        ...fields,
        ...messageArgs(messages),
      ])
      return { thread, messages }
    },

    async get(project: string, id: string): Promise<Thread> {
      const key = k.thread(id)
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project])
      if (!raw) throw notFound(id)
      return Thread.parse(decodeFields(raw))
    },

    async update(project: string, id: string, params: ThreadUpdateParams): Promise<Thread> {
      const key = k.thread(id)
      const changes: Record<string, unknown> = { ...params }
      if (params.metadata === null) changes.metadata = {}
      if (params.tool_resources === null) changes.tool_resources = {}
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project, ...encodeFields(changes)])
      if (!raw) throw notFound(id)
      return Thread.parse(decodeFields(raw))
    },

    async delete(project: string, id: string): Promise<ThreadDeleted> {
      const removed = await runScript<number>(redis, scripts.deleteThread, [k.thread(id)], [project, k.threadPrefix(id), DELETED_RUN_EVENTS_TTL_SECONDS])
      if (!removed) throw notFound(id)
      return { id, object: 'thread.deleted', deleted: true }
    },
  }
}
