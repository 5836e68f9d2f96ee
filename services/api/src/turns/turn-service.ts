import {
  ApiError,
  type Assistant,
  type ListQuery,
  checkToolChoice,
  isTerminalRunStatus,
  type ThreadTurnCreateParams,
  type Turn,
  type TurnCreateParams,
  newId,
  newTurn,
  nowSeconds,
} from '@threadwork/domain'
import type { DrainQueues } from '@threadwork/queue'
import { type AssistantStamp, AssistantChangedError, type Stores } from '@threadwork/storage'
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

/** All a turn's checks read of its assistant. */
type CheckedAssistant = Pick<Assistant, 'model' | 'tools'>

/** Turns: accepted at any time, run one at a time per thread in arrival order. */
export function createTurnService(deps: TurnServiceDeps) {
  const { stores, queues } = deps
  const idempotency: Idempotency = createIdempotency(stores.redis, stores.keys)

  /**
   * Assistants as last read, by project and id, for `check`: a turn checked against one passes its
   * stamp to `turns.create`, whose script stores the turn only if the assistant still has that model
   * and those tools (all `check` reads of it), so a turn costs one round trip instead of two (issue
   * 14). Not on a Cluster (the assistant is in another slot than the thread): read each time there.
   */
  const assistants = new Map<string, { assistant: CheckedAssistant; stamp: AssistantStamp }>()
  /** Bounds the cache (a few KB each: the model and tools, twice); full, it starts again. */
  const ASSISTANTS_CACHED = 1000
  const cacheKey = (project: string, id: string) => `${project}\u0000${id}`

  async function readAssistant(project: string, id: string): Promise<CheckedAssistant> {
    const { assistant, stamp } = await stores.assistants.getStamped(project, id)
    if (stores.turns.checksAssistant) {
      if (assistants.size >= ASSISTANTS_CACHED) assistants.clear()
      assistants.set(cacheKey(project, id), { assistant: { model: assistant.model, tools: assistant.tools }, stamp })
    }
    return assistant
  }

  /**
   * Refuses what could never start, before anything is stored. With `cached`, checks against the
   * cached assistant when there is one and returns its stamp for `turns.create` to confirm; a
   * refusal is always re-checked against the assistant read now (it may be gone: its 404 comes first).
   */
  async function check(project: string, params: TurnCreateParams, cached = false): Promise<AssistantStamp | undefined> {
    const hit = cached ? assistants.get(cacheKey(project, params.assistant_id)) : undefined
    if (hit) {
      try {
        await checkAgainst(project, params, hit.assistant)
        return hit.stamp
      } catch (err) {
        if (!(err instanceof ApiError)) throw err
        assistants.delete(cacheKey(project, params.assistant_id))
      }
    }
    await checkAgainst(project, params, await readAssistant(project, params.assistant_id))
    return undefined
  }

  async function checkAgainst(project: string, params: TurnCreateParams, assistant: CheckedAssistant): Promise<void> {
    const model = params.run?.model ?? assistant.model
    await deps.modelGate.forRun(model, 'run.model')
    checkToolChoice(params.run?.tool_choice, params.run?.tools ?? assistant.tools, 'run.tool_choice')
    await deps.attachments?.check(project, [params])
    await deps.vectorStores?.toolResources.checkAttachments(project, params.attachments)
  }

  /**
   * A started turn whose run is past `expires_at` reads as its run does: the run's own read
   * (`runs.get`) ends an overdue run `expired`, and its turn with it, so a turn never keeps saying
   * `requires_action` (or `in_progress` with no worker alive) until the reconciler's next sweep.
   * One HGET of the run's `expires_at` per active turn read; the run is read only once it is due.
   */
  async function expireIfDue(project: string, turn: Turn): Promise<Turn> {
    if (turn.status !== 'in_progress' && turn.status !== 'requires_action') return turn
    const expiresAt = await stores.redis.hget(stores.keys.run(turn.thread_id, turn.run_id), 'expires_at')
    if (expiresAt === null || expiresAt === 'null' || nowSeconds() < Number(expiresAt)) return turn
    const run = await deps.runs.get(project, turn.thread_id, turn.run_id).catch(() => null)
    if (!run || !isTerminalRunStatus(run.status)) return turn
    return stores.turns.get(project, turn.thread_id, turn.id)
  }

  async function accept(project: string, threadId: string, turnId: string, params: TurnCreateParams, assistant?: AssistantStamp): Promise<Turn> {
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
    await stores.turns.create(project, turn, request, { wake: !attachesFiles, assistant })
    if (attachesFiles) {
      await attachMessageFiles(deps.vectorStores, project, threadId, [params])
      // If this fails the turn still waits in the mailbox; the reconciler wakes the thread.
      await queues.enqueueDrain(threadId)
    }
    return turn
  }

  /**
   * The turn an earlier request with the same key created (waiting briefly if it is still being
   * stored); null if none appeared in that time.
   */
  async function original(project: string, ref: { threadId: string; turnId: string }): Promise<Turn | null> {
    const deadline = Date.now() + idempotency.waitMs
    for (;;) {
      const turn = await stores.turns.get(project, ref.threadId, ref.turnId).catch(() => null)
      if (turn) return turn
      if (Date.now() > deadline) return null
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function withKey(project: string, key: string | undefined, body: unknown, threadId: string, create: (turnId: string) => Promise<Turn>): Promise<Turn> {
    const turnId = newId('turn')
    if (!key) return create(turnId)
    const claim = await idempotency.claim(project, key, body, { threadId, turnId })
    if (!claim.claimed) {
      const turn = await original(project, claim.ref)
      if (turn) return turn
      // No turn under the key: its request is still storing it, or died doing so. A dead one's
      // claim is taken over once stale, so the retry this 409 asks for succeeds in the end.
      if (!(await idempotency.takeOverStale(project, key, claim, { threadId, turnId })))
        throw new ApiError(409, 'A request with this Idempotency-Key is still being processed. Retry shortly.', { code: 'idempotency_key_in_use' })
    }
    try {
      return await create(turnId)
    } catch (err) {
      await idempotency.release(project, key)
      throw err
    }
  }

  async function createChecked(
    project: string,
    threadId: string,
    params: TurnCreateParams,
    idempotencyKey: string | undefined,
    assistant: AssistantStamp | undefined,
  ) {
    const attachments = deps.attachments
    if (!attachments) return withKey(project, idempotencyKey, { threadId, params }, threadId, (turnId) => accept(project, threadId, turnId, params, assistant))
    // The turn's message is stored when it starts; its files join the thread now, as a message's would.
    return withKey(project, idempotencyKey, { threadId, params }, threadId, (turnId) =>
      attachments.forMessage(project, threadId, params, () => accept(project, threadId, turnId, params, assistant)),
    )
  }

  return {
    async create(project: string, threadId: string, params: TurnCreateParams, idempotencyKey?: string): Promise<Turn> {
      // Attachments change the thread before the turn is stored (attachments.forMessage): checked
      // against the assistant as read now, as ever, so a gone assistant changes nothing.
      const cached = !params.attachments?.length
      const stamp = await check(project, params, cached)
      if (!stamp) return createChecked(project, threadId, params, idempotencyKey, undefined)
      try {
        return await createChecked(project, threadId, params, idempotencyKey, stamp)
      } catch (err) {
        assistants.delete(cacheKey(project, params.assistant_id))
        if (!(err instanceof AssistantChangedError)) throw err
        // Changed since cached (nothing was stored, the key was released): as with no cache.
        return createChecked(project, threadId, params, idempotencyKey, await check(project, params))
      }
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

    async get(project: string, threadId: string, turnId: string): Promise<Turn> {
      return expireIfDue(project, await stores.turns.get(project, threadId, turnId))
    },

    async list(project: string, threadId: string, query: ListQuery) {
      const page = await stores.turns.list(project, threadId, query)
      return { ...page, data: await Promise.all(page.data.map((turn) => expireIfDue(project, turn))) }
    },

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
