import { Assistant } from '@threadwork/domain'
import { decodeFields } from './codec.js'

/** Assistants kept parsed at most (by key; the oldest out first). */
const MAX_ENTRIES = 1000

/**
 * The assistants this process has parsed, by key, with the stored fields they were parsed from. A
 * turn reads its assistant every time (one `HGETALL`, so an update is seen by the next turn), but
 * parses it again only if a stored field differs (issue 14: the zod parse of an assistant was
 * ~25 µs of a turn's JS, against a few µs to compare its strings). Used by the assistant store (API
 * run creation and turn checks) and the worker's turn reads. The parsed object is shared
 * between the runs built from it, which copy what they use (domain `newRun`) and never change it.
 */
export class AssistantCache {
  private readonly entries = new Map<string, { raw: Record<string, string>; assistant: Assistant }>()

  constructor(private readonly max = MAX_ENTRIES) {}

  /** The assistant stored as `raw` at `key`, parsed once per stored version. */
  parse(key: string, raw: Record<string, string>): Assistant {
    const entry = this.entries.get(key)
    if (entry && sameFields(entry.raw, raw)) return entry.assistant
    const assistant = Assistant.parse(decodeFields(raw))
    this.entries.delete(key)
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, { raw, assistant })
    return assistant
  }

  /** The assistant kept for `key` and the stored fields it was parsed from, without asking Redis (undefined: none kept). */
  peek(key: string): { raw: Record<string, string>; assistant: Assistant } | undefined {
    return this.entries.get(key)
  }

  /** Assistants kept (tests). */
  get size(): number {
    return this.entries.size
  }
}

function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0
  for (const f in b) {
    if (a[f] !== b[f]) return false
    n++
  }
  return n === Object.keys(a).length
}
