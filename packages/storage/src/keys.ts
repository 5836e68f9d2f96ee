/**
 * Every Redis key Threadwork uses, built in one place (style §11).
 *
 * Thread-scoped keys carry the hash tag of the thread's shard, `{s<N>}` with N = hash(thread id)
 * mod `shards`, and a project's assistants share `{p:<project>}`. So every atomic script touches a
 * single Redis Cluster slot: a thread's objects, its mailbox, its fence *and* its shard's outbox
 * stream and BullMQ queue (research/queue-webhooks.md §5). On a single Redis, `shards` stays 1.
 * The shard count is part of the key layout: choose it before storing data.
 */
export function keys(prefix: string, shards = 1) {
  const project = (p: string) => `${prefix}:{p:${p}}`
  const shardTag = (t: string) => `{s${shardOf(t, shards)}}`
  const thread = (t: string) => `${prefix}:${shardTag(t)}:${t}`
  return {
    prefix,
    shards,
    /** The shard a thread lives on. */
    shardOf: (t: string) => shardOf(t, shards),
    projectMeta: (p: string) => `${project(p)}:meta`,
    assistants: (p: string) => `${project(p)}:assistants`,
    assistantPrefix: (p: string) => `${project(p)}:asst:`,
    assistant: (p: string, id: string) => `${project(p)}:asst:${id}`,
    /** Webhook endpoints of a project (index, objects), their delivery logs, events kept for redelivery. */
    webhookEndpoints: (p: string) => `${project(p)}:webhook_endpoints`,
    webhookEndpointPrefix: (p: string) => `${project(p)}:whe:`,
    webhookEndpoint: (p: string, id: string) => `${project(p)}:whe:${id}`,
    /** Delivery attempts of one endpoint, or of the project's callback_url deliveries (`owner` = 'callback'). */
    webhookDeliveries: (p: string, owner: string) => `${project(p)}:whe:${owner}:deliveries`,
    webhookDeliveryPrefix: (p: string) => `${project(p)}:dlv:`,
    webhookDelivery: (p: string, id: string) => `${project(p)}:dlv:${id}`,
    webhookEvent: (p: string, evt: string) => `${project(p)}:evt:${evt}`,
    /** Bumped by every write to the project's endpoints or callback secret: the dispatcher's cache key. */
    webhookVersion: (p: string) => `${project(p)}:webhook-version`,
    /** The project's signing secret for turn callback_urls; also the owner of the callback delivery log. */
    webhookSigningSecret: (p: string) => `${project(p)}:webhook-secret`,
    /** Delivery attempts in flight (zset job id → lease expiry ms): the project's, and one target's. */
    webhookInflight: (p: string) => `${project(p)}:wh-inflight`,
    webhookInflightTarget: (p: string, target: string) => `${project(p)}:wh-inflight:${target}`,
    /**
     * Set (a fresh value, short TTL) when a slot of the project's callbacks was wanted and none was
     * free: a job parked for one, or a worker holding none of them. Worker processes holding some
     * read it in their commits (commitRun-6.lua `direct`) and give one back for each new value.
     */
    webhookWant: (p: string) => `${project(p)}:wh-want`,
    /** Delivery jobs waiting for one of the project's slots (zset job id → parked at ms), woken in order. */
    webhookParked: (p: string) => `${project(p)}:wh-parked`,
    /** Delivery jobs waiting for a slot of one target (its limit, not the project's, refused them): woken first by that target's releases. */
    webhookParkedTarget: (p: string, target: string) => `${project(p)}:wh-parked:${target}`,
    /** Files of a project: all (zset by sequence), by purpose, and each file's metadata hash. */
    files: (p: string) => `${project(p)}:files`,
    filesByPurpose: (p: string, purpose: string) => `${project(p)}:files:purpose:${purpose}`,
    filesByPurposePrefix: (p: string) => `${project(p)}:files:purpose:`,
    filePrefix: (p: string) => `${project(p)}:file:`,
    file: (p: string, id: string) => `${project(p)}:file:${id}`,
    /** An Upload (`upload_…`) and its parts (part id → byte count). */
    upload: (p: string, id: string) => `${project(p)}:upload:${id}`,
    uploadParts: (p: string, id: string) => `${project(p)}:upload:${id}:parts`,
    /**
     * Files and uploads that expire (`f:<project>:<id>`, `u:<project>:<id>`) scored by expiry time;
     * the sweeper's worklist. Its own slot: only ever used alone.
     */
    storageExpiry: `${prefix}:storage-expiry`,

    /**
     * Vector stores live in their project's slot (`{p:<project>}`), so one script can attach files,
     * move counts and queue ingestion atomically. A store's own keys hang off its hash key
     * (`vectorStore(p, id)` + `:files`, `:files:<status>`, `:batches`, `:mailbox`, `:fence`); its
     * files are `vectorStoreFile(p, id, fileId)` and its batches `vectorStoreBatch(p, batchId)`
     * (+ `:files`, `:files:<status>`). Lua builds the suffixes from these bases.
     */
    vectorStores: (p: string) => `${project(p)}:vector_stores`,
    vectorStorePrefix: (p: string) => `${project(p)}:vs:`,
    vectorStore: (p: string, id: string) => `${project(p)}:vs:${id}`,
    vectorStoreFiles: (p: string, id: string, status?: string) => `${project(p)}:vs:${id}:files${status ? `:${status}` : ''}`,
    vectorStoreMailbox: (p: string, id: string) => `${project(p)}:vs:${id}:mailbox`,
    vectorStoreFence: (p: string, id: string) => `${project(p)}:vs:${id}:fence`,
    vectorStoreFilePrefix: (p: string, id: string) => `${project(p)}:vsf:${id}:`,
    vectorStoreFile: (p: string, id: string, fileId: string) => `${project(p)}:vsf:${id}:${fileId}`,
    vectorStoreBatchPrefix: (p: string) => `${project(p)}:vsfb:`,
    vectorStoreBatch: (p: string, batchId: string) => `${project(p)}:vsfb:${batchId}`,
    vectorStoreBatchFiles: (p: string, batchId: string, status?: string) => `${project(p)}:vsfb:${batchId}:files${status ? `:${status}` : ''}`,
    /** The stores a file is in (the file-deletion hook takes it out of each). */
    fileVectorStoresPrefix: (p: string) => `${project(p)}:fvs:`,
    fileVectorStores: (p: string, fileId: string) => `${project(p)}:fvs:${fileId}`,
    /** Stores with queued ingestion work → when it was queued (the ingest reconciler's worklist; member `<project>/<store>`). */
    vectorStoresPending: `${prefix}:{vs}:pending`,
    /** The BullMQ queue of vector store ingestion; one hash tag, so its keys share a slot. */
    ingestQueue: 'ingest-{vs}',

    /** Everything under one thread starts with this; used by scripts that build keys. */
    threadPrefix: (t: string) => `${thread(t)}:`,
    thread: (t: string) => `${thread(t)}:thread`,
    messages: (t: string) => `${thread(t)}:messages`,
    messagePrefix: (t: string) => `${thread(t)}:msg:`,
    message: (t: string, id: string) => `${thread(t)}:msg:${id}`,
    runMessages: (t: string, runId: string) => `${thread(t)}:run:${runId}:messages`,
    runs: (t: string) => `${thread(t)}:runs`,
    runPrefix: (t: string) => `${thread(t)}:run:`,
    run: (t: string, id: string) => `${thread(t)}:run:${id}`,
    steps: (t: string, runId: string) => `${thread(t)}:run:${runId}:steps`,
    stepPrefix: (t: string) => `${thread(t)}:step:`,
    step: (t: string, id: string) => `${thread(t)}:step:${id}`,
    turns: (t: string) => `${thread(t)}:turns`,
    turnPrefix: (t: string) => `${thread(t)}:turn:`,
    turn: (t: string, id: string) => `${thread(t)}:turn:${id}`,
    /** Idempotency-Key → the turn it created (per project, 24 h). */
    idempotency: (p: string, key: string) => `${project(p)}:idem:${key}`,
    /** Live events of one run (stream deltas), read by the API process holding the client's SSE. */
    runEvents: (t: string, runId: string) => `${thread(t)}:run:${runId}:events`,
    /** FIFO of work items (`run:<id>`, `turn:<id>`) waiting on the thread; the head is in progress. */
    mailbox: (t: string) => `${thread(t)}:mailbox`,
    /** Fencing counter: bumped on every claim; only the latest claimant may commit. */
    fence: (t: string) => `${thread(t)}:fence`,
    /**
     * The thread's outstanding wake-up: the id of its entry in the shard's wake-up stream, with a
     * trailing `+` when it was woken again meanwhile (wakeThread-2.lua). Absent: no drain owed.
     */
    wake: (t: string) => `${thread(t)}:wake`,

    /** Per shard: threads with queued work → oldest enqueue time (the reconciler's worklist). */
    pending: (shard: number) => `${prefix}:{s${shard}}:pending`,
    /** Per shard: the durable event record (webhooks catch up from it). */
    outbox: (shard: number) => `${prefix}:{s${shard}}:outbox`,
    /**
     * Per shard: the stream of thread wake-ups (`t` = thread id) that workers read with the
     * consumer group `drain` (services/worker `wakeup-consumer.ts`); it replaced the per-thread
     * BullMQ drain job (issue 14).
     */
    wakeups: (shard: number) => `${prefix}:{s${shard}}:wakeups`,
    shardWakeups: (t: string) => `${prefix}:${shardTag(t)}:wakeups`,
    /** BullMQ queue name of a shard (the reconciler's schedule); its keys (`<prefix>:drain-{sN}:…`) share the shard's slot. */
    drainQueue: (shard: number) => `drain-{s${shard}}`,
    /** BullMQ queue of a shard's webhook deliveries; its keys share the shard's slot. */
    webhookQueue: (shard: number) => `webhooks-{s${shard}}`,
    /** Per (target, thread) FIFO of undelivered events, ordered by outbox entry id (services/webhooks README). */
    webhookFifo: (shard: number, target: string, threadId: string) => `${prefix}:{s${shard}}:whfifo:${target}:${threadId}`,
    /** Test sends and manual redeliveries, requested by the API, read by the dispatcher. */
    webhookControl: `${prefix}:{s0}:webhook-control`,
    shardPending: (t: string) => `${prefix}:${shardTag(t)}:pending`,
    /**
     * Per shard: active runs that expire → their `expires_at` in ms (member `<thread>/<run>`). Runs
     * join it when created and leave it at their terminal commit; the reconciler ends those overdue.
     */
    deadlines: (shard: number) => `${prefix}:{s${shard}}:deadlines`,
    shardDeadlines: (t: string) => `${prefix}:${shardTag(t)}:deadlines`,
    shardOutbox: (t: string) => `${prefix}:${shardTag(t)}:outbox`,
    /**
     * Pub/sub channel announcing new control-stream entries (a nudge; the stream is the record).
     * Commits send none: dispatchers block on the shard outbox streams themselves.
     */
    outboxChannel: `${prefix}:outbox-nudge`,
    /**
     * An API process's SSE reader wakes its blocking XREAD by appending here; in shard N's slot so
     * it can join that XREAD of the shard's run event streams (services/api/src/streaming).
     */
    streamWake: (shard: number, reader: string) => `${prefix}:{s${shard}}:sse-wake:${reader}`,
    /** Pub/sub channel asking whichever worker runs a run to abort it. */
    cancelChannel: `${prefix}:run-cancel`,
  }
}
export type Keys = ReturnType<typeof keys>

/** FNV-1a: a stable, fast hash; any stable hash works as long as it never changes. */
export function shardOf(threadId: string, shards: number): number {
  if (shards <= 1) return 0
  let h = 0x811c9dc5
  for (let i = 0; i < threadId.length; i++) {
    h ^= threadId.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % shards
}
