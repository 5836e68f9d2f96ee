import { newCallId } from './call-id.js'

/**
 * One element of `choices[0].delta.tool_calls` as providers really send it. Looser than the SDK's
 * type on purpose: `index` may be missing, `arguments` may be null or (Ollama native) an object.
 */
export interface RawToolCallDelta {
  index?: number | null
  id?: string | null
  type?: string | null
  function?: { name?: string | null; arguments?: string | Record<string, unknown> | null } | null
}

/** A clean OpenAI-style incremental tool call delta: `id` (and usually `name`) only on a call's first delta. */
export interface ToolCallDelta {
  index: number
  id?: string
  type: 'function'
  function: { name?: string; arguments: string }
}

/** A finished function call. `arguments` is the raw JSON text the model produced (`'{}'` when empty). */
export interface ToolCall {
  id: string
  name: string
  arguments: string
}

/** Accumulates streamed tool call fragments; see {@link createToolCallNormalizer}. */
export interface ToolCallNormalizer {
  /** Feeds one chunk's `tool_calls` array; returns the clean deltas it produced (possibly none). */
  push(fragments: readonly RawToolCallDelta[] | null | undefined): ToolCallDelta[]
  /** The calls so far, in order of first appearance (indexes 0..n-1). */
  calls(): ToolCall[]
  /** How many distinct calls have been seen. */
  readonly size: number
}

interface Slot {
  index: number
  id: string
  /** Whether `id` came from the provider (vs. minted by us). */
  upstreamId: boolean
  name: string | undefined
  args: string
}

/**
 * Creates a stateful accumulator that turns provider tool call fragments into clean calls and
 * dense, OpenAI-style deltas. It copes with:
 * - OpenAI: `index` + `id` + `name` on the first fragment, then `index` + argument pieces.
 * - vLLM: the same, but `arguments` may be null in the first fragment.
 * - Ollama: every call complete in one fragment, often all with `index: 0` — told apart by
 *   distinct ids, or (without ids) by a new `name` arriving after a complete JSON argument.
 * - llama.cpp: fragments of several calls interleaved, first seen out of index order (headers
 *   arriving in one chunk open their calls in index order).
 * - missing ids: we mint `call_` + 24 base62 characters.
 * Output indexes follow first appearance, never the provider's index.
 */
export function createToolCallNormalizer(options: { newId?: () => string } = {}): ToolCallNormalizer {
  const mintId = options.newId ?? newCallId
  const slots: Slot[] = []
  const byUpstreamIndex = new Map<number, Slot>()
  const byId = new Map<string, Slot>()
  let last: Slot | undefined

  const open = (upIndex: number | undefined, id: string | undefined): Slot => {
    const slot: Slot = { index: slots.length, id: id ?? mintId(), upstreamId: id !== undefined, name: undefined, args: '' }
    slots.push(slot)
    byId.set(slot.id, slot)
    if (upIndex !== undefined) byUpstreamIndex.set(upIndex, slot)
    return slot
  }

  const find = (upIndex: number | undefined, id: string | undefined, name: string | undefined): Slot | undefined => {
    if (id !== undefined) {
      const known = byId.get(id)
      if (known) return known
      // A different id at a known index is a new call (Ollama reuses index 0). Only a call that
      // never had a provider id may adopt one, and only if the names cannot conflict.
      const atIndex = upIndex === undefined ? undefined : byUpstreamIndex.get(upIndex)
      if (atIndex && !atIndex.upstreamId && (name === undefined || atIndex.name === undefined)) {
        byId.set(id, atIndex)
        return atIndex
      }
      return undefined
    }
    const candidate = upIndex === undefined ? last : byUpstreamIndex.get(upIndex)
    // Without an id, a name on a continuation means a new call when it differs, or when the call
    // at that index already holds complete JSON (Ollama: same tool twice, both at index 0).
    if (candidate && name !== undefined && candidate.name !== undefined) {
      if (name !== candidate.name || isCompleteJson(candidate.args)) return undefined
    }
    return candidate
  }

  return {
    push(fragments) {
      if (!fragments || fragments.length === 0) return []
      const out: ToolCallDelta[] = []
      for (const fragment of headersInIndexOrder(fragments)) {
        const upIndex = typeof fragment.index === 'number' ? fragment.index : undefined
        const id = fragment.id ? fragment.id : undefined
        const fn = fragment.function
        const name = fn?.name ? fn.name : undefined
        const rawArgs = fn?.arguments
        const args = typeof rawArgs === 'string' ? rawArgs : rawArgs == null ? '' : JSON.stringify(rawArgs)

        let slot = find(upIndex, id, name)
        const isNew = slot === undefined
        if (slot === undefined) slot = open(upIndex, id)
        else if (upIndex !== undefined && byUpstreamIndex.get(upIndex) !== slot) byUpstreamIndex.set(upIndex, slot)
        last = slot

        const namedNow = name !== undefined && slot.name === undefined
        if (namedNow) slot.name = name
        if (args !== '') slot.args += args
        if (!isNew && !namedNow && args === '') continue

        const delta: ToolCallDelta = { index: slot.index, type: 'function', function: { arguments: args } }
        if (isNew) delta.id = slot.id
        if (namedNow) delta.function.name = name
        out.push(delta)
      }
      return out
    },
    calls() {
      return slots.map((s) => ({ id: s.id, name: s.name ?? '', arguments: s.args === '' ? '{}' : s.args }))
    },
    get size() {
      return slots.length
    },
  }
}

/**
 * Call headers (fragments with an id) that arrive together open their calls in the provider's
 * index order, not in the chunk's: llama.cpp lists a round's fragments backwards (`[2, 1, 0]`).
 * Only headers with numeric indexes swap places among themselves; every other fragment keeps its
 * position, and a chunk with fewer than two such headers is returned as it is.
 */
function headersInIndexOrder(fragments: readonly RawToolCallDelta[]): readonly RawToolCallDelta[] {
  if (fragments.length < 2) return fragments
  const isHeader = (f: RawToolCallDelta) => !!f.id && typeof f.index === 'number'
  const headers = fragments.filter(isHeader)
  if (headers.length < 2) return fragments
  const sorted = [...headers].sort((a, b) => (a.index as number) - (b.index as number))
  let next = 0
  return fragments.map((f) => (isHeader(f) ? sorted[next++]! : f))
}

/** Cheap pre-check before the (rare) parse: only called when a name shows up on a continuation. */
function isCompleteJson(text: string): boolean {
  const trimmed = text.trimEnd()
  if (!trimmed.endsWith('}') && !trimmed.endsWith(']')) return false
  try {
    JSON.parse(trimmed)
    return true
  } catch {
    return false
  }
}
