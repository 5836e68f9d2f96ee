import {
  ApiError,
  type ListQuery,
  checkToolChoice,
  type ThreadTurnCreateParams,
  type Turn,
  type TurnCreateParams,
  newId,
  newTurn,
  nowSeconds,
} from '@threadwork/domain'
import type { DrainQueues } from '@threadwork/queue'
import type { Stores } from '@threadwork/storage'
import type { ModelGate } from '../model-gate.js'
import type { RunService } from '../runs/run-service.js'
import { type Idempotency, createIdempotency } from './idempotency.js'

export interface TurnServiceDeps {
  stores: Stores
  queues: DrainQueues
  runs: RunService
  modelGate: ModelGate
  /** Attachment checks and their effect on the thread (files API); absent: attachments are stored as given. */
  attachments?: AttachmentService
  /** file_search attachments go to the thread's vector store when the turn is accepted; absent: not. */
  vectorStores?: VectorStoresApi | null
}

import type { AttachmentService } from '../attachments/attachment-service.js'
import type { VectorStoresApi } from '../vector-stores/deps.js'
import { attachMessageFiles } from '../vector-stores/resolve.js'

export type TurnService = ReturnType<typeof createTurnService>

/** Turns: accepted at any time, run one at a time per thread in arrival order. */
export function createTurnService(deps: TurnServiceDeps) {
  const { stores, queues } = deps
  const idempotency: Idempotency = createIdempotency(stores.redis, stores.keys)

  /** Refuses what could never start, before anything is stored. */
  async function check(project: string, params: TurnCreateParams): Promise<void> {
    const assistant = await stores.assistants.get(project, params.assistant_id)
    const model = params.run?.model ?? assistant.model
    await deps.modelGate.forRun(model, 'run.model')
    checkToolChoice(params.run?.tool_choice, params.run?.tools ?? assistant.tools, 'run.tool_choice')
    await deps.attachments?.check(project, [params])
    await deps.vectorStores?.toolResources.checkAttachments(project, params.attachments)
  }

  async function accept(project: string, threadId: string, turnId: string, params: TurnCreateParams): Promise<Turn> {
    const { thread: _thread, ...request } = params as ThreadTurnCreateParams
    const turn = newTurn({
      id: turnId,
      threadId,
      assistantId: params.assistant_id,
      createdAt: nowSeconds(),
      metadata: params.metadata ?? {},
      callbackUrl: params.callback_url ?? null,
    })
    // Its file_search files join the thread's store (as a message's would) ahead of the run: then
    // the thread is woken only after that; otherwise in the same step as the turn is stored.
    const attachesFiles = (deps.vectorStores?.toolResources.fileSearchFiles(params.attachments).length ?? 0) > 0
    await stores.turns.create(project, turn, request, { wake: !attachesFiles })
    if (attachesFiles) {
      await attachMessageFiles(deps.vectorStores, project, threadId, [params])
      // If this fails the turn still waits in the mailbox; the reconciler wakes the thread.
      await queues.enqueueDrain(threadId)
    }
    return turn
  }

  /** The turn an earlier request with the same key created (waiting briefly if it is still being stored). */
  async function original(project: string, ref: { threadId: string; turnId: string }): Promise<Turn> {
    const deadline = Date.now() + idempotency.waitMs
    for (;;) {
      const turn = await stores.turns.get(project, ref.threadId, ref.turnId).catch(() => null)
      if (turn) return turn
      if (Date.now() > deadline)
        throw new ApiError(409, 'A request with this Idempotency-Key is still being processed. Retry shortly.', { code: 'idempotency_key_in_use' })
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function withKey(project: string, key: string | undefined, body: unknown, threadId: string, create: (turnId: string) => Promise<Turn>): Promise<Turn> {
    const turnId = newId('turn')
    if (!key) return create(turnId)
    const claim = await idempotency.claim(project, key, body, { threadId, turnId })
    if (!claim.claimed) return original(project, claim.ref)
    try {
      return await create(turnId)
    } catch (err) {
      await idempotency.release(project, key)
      throw err
    }
  }

  return {
    async create(project: string, threadId: string, params: TurnCreateParams, idempotencyKey?: string): Promise<Turn> {
      await check(project, params)
      const attachments = deps.attachments
      if (!attachments) return withKey(project, idempotencyKey, { threadId, params }, threadId, (turnId) => accept(project, threadId, turnId, params))
      // The turn's message is stored when it starts; its files join the thread now, as a message's would.
      return withKey(project, idempotencyKey, { threadId, params }, threadId, (turnId) =>
        attachments.forMessage(project, threadId, params, () => accept(project, threadId, turnId, params)),
      )
    },

    /** `POST /v1/turns`: a new thread and its first turn. */
    async createWithThread(project: string, params: ThreadTurnCreateParams, idempotencyKey?: string): Promise<Turn> {
      await check(project, params)
      const threadId = newId('thread')
      return withKey(project, idempotencyKey, { params }, threadId, async (turnId) => {
        const threadParams = { metadata: params.thread?.metadata, tool_resources: params.thread?.tool_resources }
        const prepared = deps.attachments
          ? await deps.attachments.forNewThread(
              project,
              { ...threadParams, messages: [{ role: 'user' as const, content: '', attachments: params.attachments }] },
              null,
            )
          : null
        await stores.threads.create(project, { ...threadParams, tool_resources: prepared?.params.tool_resources ?? threadParams.tool_resources }, threadId)
        return accept(project, threadId, turnId, params)
      })
    },

    get: (project: string, threadId: string, turnId: string) => stores.turns.get(project, threadId, turnId),

    list: (project: string, threadId: string, query: ListQuery) => stores.turns.list(project, threadId, query),

    /** Dequeues a turn that has not started; cancels the run of one that has. */
    async cancel(project: string, threadId: string, turnId: string): Promise<Turn> {
      const turn = await stores.turns.get(project, threadId, turnId)
      if (turn.status === 'queued') {
        const ended = await stores.turns.endQueued({ project, checked: true }, threadId, turnId, 'cancelled')
        if (ended) return ended
      }
      const current = await stores.turns.get(project, threadId, turnId)
      if (
        current.status === 'queued' ||
        current.status === 'completed' ||
        current.status === 'failed' ||
        current.status === 'cancelled' ||
        current.status === 'expired' ||
        current.status === 'incomplete'
      ) {
        if (current.status === 'queued') return this.cancel(project, threadId, turnId)
        throw ApiError.invalid(`Cannot cancel turn with status '${current.status}'.`)
      }
      await deps.runs.cancel(project, threadId, current.run_id).catch((err) => {
        // The run finished in the meantime: report the turn as it is.
        if (!(err instanceof ApiError && err.status === 400)) throw err
      })
      return stores.turns.get(project, threadId, turnId)
    },
  }
}
