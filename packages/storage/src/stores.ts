import { createAssistantStore } from './assistant-store.js'
import { keys } from './keys.js'
import { createFileStore } from './file-store.js'
import { createMessageStore } from './message-store.js'
import { createRunLifecycle } from './run-lifecycle.js'
import { createRunStore } from './run-store.js'
import type { RedisClient } from './scripts.js'
import { createThreadStore } from './thread-store.js'
import { createThreadWakeups } from './thread-wakeups.js'
import { createTurnStore } from './turn-store.js'
import { createVectorStoreStore } from './vector-store-store.js'
import { createWebhookEndpointStore } from './webhook-endpoint-store.js'

/** Every store over one connection and key prefix. */
export function createStores(redis: RedisClient, prefix: string, shards = 1) {
  const k = keys(prefix, shards)
  const runs = createRunStore(redis, k)
  return {
    keys: k,
    redis,
    assistants: createAssistantStore(redis, k),
    threads: createThreadStore(redis, k),
    messages: createMessageStore(redis, k),
    webhookEndpoints: createWebhookEndpointStore(redis, k),
    runs,
    runLifecycle: createRunLifecycle(redis, k, runs),
    turns: createTurnStore(redis, k),
    wakeups: createThreadWakeups(redis, k),
    files: createFileStore(redis, k),
    vectorStores: createVectorStoreStore(redis, k),
  }
}
export type Stores = ReturnType<typeof createStores>
