import { ApiError, type Message, type RunSettings, TERMINAL_TURN_STATUSES, type TurnCreateParams, newId, newMessage, newRun, nowSeconds } from '@threadwork/domain'
import type { Logger } from '@threadwork/logger'
import { RunInternal, type Stores, runInternalSettings } from '@threadwork/storage'
import type { CancelRegistry } from '../cancel-registry.js'
import type { ItemContext, ItemResult } from '../run-executor.js'
import { ROUND_MESSAGE, ROUND_STEP, ROUND_TOOL_STEP } from '../run-round.js'

export interface StartTurnDeps {
  stores: Stores
  log: Logger
  runExpiresAfterSeconds: number
  cancels: CancelRegistry
  executeRun: (threadId: string, runId: string, fence: number, item: string, known?: ItemContext) => Promise<ItemResult>
}

/**
 * The turn at the head of a thread's mailbox: if it is still queued, add its user message and
 * create its run now — after every earlier turn's answer, so the model sees them — then drive
 * the run. The run is created `in_progress` with its first round's message and step ids, so the
 * executor makes no start commit of its own (issue 14: one script and round trip fewer a turn).
 * A turn already started (a re-claim after a crash) goes straight to its run.
 */
export function createStartTurn(deps: StartTurnDeps) {
  const { stores } = deps
  return async function startTurn(threadId: string, turnId: string, fence: number, item: string, context: ItemContext = {}): Promise<ItemResult> {
    const loaded = await stores.turns.load(threadId, turnId)
    if (!loaded || (TERMINAL_TURN_STATUSES as readonly string[]).includes(loaded.turn.status)) {
      await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
      return 'done'
    }
    const { turn, project } = loaded
    if (turn.status !== 'queued') return deps.executeRun(threadId, turn.run_id, fence, item, context)

    const request = loaded.request as TurnCreateParams
    const assistant = await stores.assistants.get(project, turn.assistant_id).catch((err) => {
      if (err instanceof ApiError && err.status === 404) return null
      throw err
    })
    if (!assistant) {
      await stores.turns.endQueued({ project, checked: false }, threadId, turnId, 'failed', {
        code: 'invalid_prompt',
        message: `No assistant found with id '${turn.assistant_id}'.`,
      })
      return 'done'
    }

    const now = nowSeconds()
    const message: Message = newMessage({
      id: turn.message_id,
      threadId,
      createdAt: now,
      params: { role: 'user', content: request.content, attachments: request.attachments ?? [], metadata: {} },
    })
    const { additional_instructions: _i, reasoning_effort: _r, ...settings } = request.run ?? {}
    const queued = newRun({ id: turn.run_id, threadId, assistant, settings: settings as RunSettings, createdAt: now, expiresAfterSeconds: deps.runExpiresAfterSeconds })
    const run = { ...queued, status: 'in_progress' as const, started_at: now }
    // A turn is answered by callback or polling: nobody reads its run's live stream.
    const runInternal: Record<string, string> = {
      [RunInternal.item]: item,
      [RunInternal.turn]: turnId,
      [RunInternal.live]: '0',
      ...runInternalSettings(request.run ?? {}, assistant),
      [ROUND_MESSAGE]: newId('msg'),
      [ROUND_STEP]: newId('step'),
      [ROUND_TOOL_STEP]: newId('step'),
    }

    // Registered before the run shows `in_progress`: the API publishes a cancel only after reading
    // `in_progress`, so registering after the start could miss a cancel sent in between.
    const controller = deps.cancels.register(run.id, threadId)
    const started = await stores.turns.start({ project, fence, turn, message, run, runInternal })
    if (!started.ok) {
      deps.cancels.release(run.id)
      if (started.reply === 'FENCED') return 'fenced'
      if (started.reply === 'GONE') {
        await stores.redis.lrem(stores.keys.mailbox(threadId), 1, item)
        return 'done'
      }
      // Cancelled between our read and the start: the next loop pass sees its final status.
      return 'done'
    }
    // The expiry backstop (the shard's deadlines set) was written with the run. The run and the
    // turn are what the script just stored: the executor does not read them again.
    context.loaded = { run, internal: { ...runInternal, [RunInternal.project]: project } }
    context.turn = started.turn
    context.message = message
    context.started = controller
    return deps.executeRun(threadId, run.id, fence, item, context)
  }
}
