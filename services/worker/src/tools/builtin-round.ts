import type { Run, ToolCall } from '@threadwork/domain'
import type { ToolCall as ModelToolCall } from '@threadwork/model-client'
import type { RoundStream } from '../round-stream.js'
import type { OfferedBuiltin } from '../upstream-request.js'
import type { BuiltinTool, BuiltinType } from './builtin-tool.js'
import type { RunResources } from './run-resources.js'
import type { StepModelRecord } from './run-tool-history.js'

/** The built-in tools a run's next model round is offered, and which function names stand for them. */
export interface RoundOffer {
  offered: OfferedBuiltin[]
  /** Offered function name → the built-in it stands for. */
  names: Map<string, BuiltinType>
  tools: Map<BuiltinType, BuiltinTool>
}

/**
 * Asks each built-in tool the run has whether it can serve this round. A run function tool with the
 * same name as a built-in keeps the name (the user's definition wins; the built-in is not offered).
 * After `maxRounds` tool rounds nothing is offered, so a model that keeps calling tools must answer.
 */
export function offerBuiltins(tools: readonly BuiltinTool[], run: Run, resources: RunResources, roundsSoFar: number, maxRounds: number): RoundOffer {
  const offer: RoundOffer = { offered: [], names: new Map(), tools: new Map() }
  if (roundsSoFar >= maxRounds || run.tool_choice === 'none') return offer
  const functionNames = new Set(run.tools.flatMap((t) => (t.type === 'function' ? [t.function.name] : [])))
  for (const tool of tools) {
    if (!run.tools.some((t) => t.type === tool.type) || functionNames.has(tool.name)) continue
    const definition = tool.offer(run, resources)
    if (!definition) continue
    offer.offered.push({ type: tool.type, tool: definition })
    offer.names.set(definition.function.name, tool.type)
    offer.tools.set(tool.type, tool)
  }
  return offer
}

/**
 * Executes the round's built-in calls one after another, in the order the model made them (code
 * calls share one session, so their order matters), streaming each one's outputs on the round's
 * step. Returns the step's calls in call order — function calls with `output: null`, to be
 * submitted by the client — and the record of what the model saw.
 */
export async function executeBuiltins(
  calls: readonly ModelToolCall[],
  offer: RoundOffer,
  ctx: { project: string; run: Run; resources: RunResources; signal: AbortSignal; ordinals: Record<BuiltinType, number>; stream: RoundStream },
): Promise<{ stepCalls: ToolCall[]; record: StepModelRecord }> {
  const stepCalls: ToolCall[] = []
  const record: StepModelRecord = { calls: [] }
  for (const [index, call] of calls.entries()) {
    const type = offer.names.get(call.name)
    const tool = type ? offer.tools.get(type) : undefined
    if (!type || !tool) {
      stepCalls.push({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments, output: null } })
      continue
    }
    const result = await tool.execute(call, {
      project: ctx.project,
      run: ctx.run,
      signal: ctx.signal,
      resources: ctx.resources,
      ordinal: ctx.ordinals[type]++,
      emit: (body) => ctx.stream.builtinDelta(index, type, body),
    })
    stepCalls.push({ ...result.call, id: call.id })
    record.calls.push({ id: call.id, name: call.name, arguments: call.arguments, output: result.output, ...(result.refs ? { refs: result.refs } : {}) })
  }
  return { stepCalls, record }
}
