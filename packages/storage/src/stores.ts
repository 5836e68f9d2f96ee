import { createAssistantStore } from './assistant-store.js'
import { keys } from './keys.js'
import { createMessageStore } from './message-store.js'
import type { RedisClient } from './scripts.js'
import { createThreadStore } from './thread-store.js'

/** Every store over one connection and key prefix. */
export function createStores(redis: RedisClient, prefix: string, shards = 1) {
  const k = keys(prefix, shards)
  return {
    keys: k,
    assistants: createAssistantStore(redis, k),
    threads: createThreadStore(redis, k),
    messages: createMessageStore(redis, k),
  }
}
export type Stores = ReturnType<typeof createStores>
