import { RunStep } from '@threadwork/domain'
import type { ToolTurn } from '@threadwork/model-client'
import { type Keys, type RedisClient, decodeFields } from '@threadwork/storage'
import type { BuiltinRefs, BuiltinType } from './builtin-tool.js'
import type { ReplyRefs } from './reply-annotations.js'

/**
 * Internal field of a tool_calls step hash holding what the model saw of its built-in calls (the
 * function name, arguments and output; OpenAI's step shapes keep neither the search queries nor
 * the text handed back) and the files they made or cited. `_`-prefixed fields never reach the wire.
 */
export const STEP_MODEL_FIELD = '_model'

/** The {@link STEP_MODEL_FIELD} of a step: one entry per built-in call. */
export interface StepModelRecord {
  calls: { id: string; name: string; arguments: string; output: string; refs?: BuiltinRefs }[]
}

/** A step to commit with its model record: `encodeFields` writes the extra field beside the wire fields. */
export const withModelRecord = (step: RunStep, record: StepModelRecord): RunStep => ({ ...step, [STEP_MODEL_FIELD]: record }) as RunStep

/** What the run's completed tool rounds left for the next model round and for its reply. */
export interface RunToolHistory {
  /** Every completed tool_calls step as a function-calling turn, in order. */
  turns: ToolTurn[]
  refs: ReplyRefs
  /** Images displayed by code since the run's last message: the next reply shows them. */
  pendingImages: string[]
  /** Completed calls per built-in tool (numbers the next call's source markers). */
  ordinals: Record<BuiltinType, number>
}

/**
 * Reads the run's steps in order (one pipeline; a run has few) and rebuilds its tool history. Built
 * from what is committed only, so a round re-run after a crash sees exactly what the first attempt
 * would have.
 */
export async function loadRunToolHistory(redis: RedisClient, k: Keys, threadId: string, runId: string): Promise<RunToolHistory> {
  const history: RunToolHistory = { turns: [], refs: { citations: new Map(), files: new Map() }, pendingImages: [], ordinals: { file_search: 0, code_interpreter: 0 } }
  const ids = await redis.zrange(k.steps(threadId, runId), 0, -1)
  if (ids.length === 0) return history
  const pipeline = redis.pipeline()
  for (const id of ids) pipeline.hgetall(k.step(threadId, id))
  const replies = (await pipeline.exec()) ?? []
  const citations = history.refs.citations as Map<string, string>
  const files = history.refs.files as Map<string, string>
  for (const [, raw] of replies) {
    const fields = raw as Record<string, string> | null
    if (!fields || Object.keys(fields).length === 0) continue
    const step = RunStep.parse(decodeFields(fields))
    if (step.step_details.type === 'message_creation') {
      if (step.status === 'completed') history.pendingImages = []
      continue
    }
    if (step.status !== 'completed') continue
    const record: StepModelRecord = fields[STEP_MODEL_FIELD] ? JSON.parse(fields[STEP_MODEL_FIELD]) : { calls: [] }
    const modelCalls = new Map(record.calls.map((c) => [c.id, c]))
    const calls: { id: string; name: string; arguments: string }[] = []
    const outputs: { tool_call_id: string; output: string }[] = []
    for (const call of step.step_details.tool_calls) {
      if (call.type === 'function') {
        calls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments })
        outputs.push({ tool_call_id: call.id, output: call.function.output ?? '' })
        continue
      }
      history.ordinals[call.type]++
      const seen = modelCalls.get(call.id)
      calls.push({ id: call.id, name: seen?.name ?? call.type, arguments: seen?.arguments ?? '{}' })
      outputs.push({ tool_call_id: call.id, output: seen?.output ?? '' })
      for (const [marker, fileId] of Object.entries(seen?.refs?.citations ?? {})) citations.set(marker, fileId)
      for (const [path, fileId] of Object.entries(seen?.refs?.files ?? {})) files.set(path, fileId)
      history.pendingImages.push(...(seen?.refs?.images ?? []))
    }
    if (calls.length > 0) history.turns.push({ toolCalls: calls, outputs })
  }
  return history
}
