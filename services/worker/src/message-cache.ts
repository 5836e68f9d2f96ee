import type { Message } from '@threadwork/domain'

/**
 * Thread messages this worker has read, by their Redis key, so a thread's next turn reads only its
 * index and the messages it has not seen (issue 14: a prompt read one `HGETALL` per message in it,
 * every turn, so a turn's Redis commands grew with its thread's length).
 *
 * Safe to keep because a stored message's prompt never changes once it is final (`completed` or
 * `incomplete`): OpenAI's modify-message changes only `metadata`, which no prompt reads (a cached
 * copy's metadata may be older than the stored one's), and a deleted message leaves the thread's
 * index, which is read every time, so it is never offered again. Messages still `in_progress` are
 * not kept. Ids are random and never reused, and the key carries the deployment's prefix.
 *
 * Bounded by characters of text (`maxChars`), least recently used first out, so a worker holding
 * thousands of runs keeps a few tens of MB at most.
 */
export class MessageCache {
  private readonly entries = new Map<string, { message: Message; chars: number }>()
  private chars = 0

  constructor(private readonly maxChars: number) {}

  /** The cached message stored at `key`, marked as recently used; undefined when not kept. */
  get(key: string): Message | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.message
  }

  /** Keeps `message` (read from `key`) if it is final and fits; evicts the least recently used to make room. */
  set(key: string, message: Message): void {
    if (message.status === 'in_progress') return
    const chars = charsOf(message)
    if (chars > this.maxChars) return
    const old = this.entries.get(key)
    if (old) {
      this.entries.delete(key)
      this.chars -= old.chars
    }
    this.entries.set(key, { message, chars })
    this.chars += chars
    for (const [k, e] of this.entries) {
      if (this.chars <= this.maxChars) break
      this.entries.delete(k)
      this.chars -= e.chars
    }
  }

  /** Messages kept (tests, metrics). */
  get size(): number {
    return this.entries.size
  }
}

/** Characters a message holds, roughly: its text parts, plus a fixed overhead per part and message. */
const charsOf = (m: Message): number => m.content.reduce((n, part) => n + (part.type === 'text' ? part.text.value.length : 64) + 64, 256)
