import { Message } from '@threadwork/domain'
import { type Keys, type RedisClient, decodeFields } from '@threadwork/storage'
import { MessageCache } from './message-cache.js'

/** Message ids read per page, newest first. */
export const HISTORY_PAGE = 100
const PAGE = HISTORY_PAGE
/** Rough characters per token, used only to decide how much history to read. */
const CHARS_PER_TOKEN = 3
/** This process's messages already read (message-cache.ts): 32 M characters of text at most. */
const readMessages = new MessageCache(32 * 1024 * 1024)

/**
 * Keeps a message this worker has just stored (a turn's user message, a run's final reply) as if it
 * had been read: the thread's next turn on this worker reads neither back (issue 14: an `HGETALL`
 * and a parse per message a turn added, on the next turn). Only a final message is kept
 * (message-cache.ts), and only once its write committed.
 */
export function rememberMessage(k: Keys, threadId: string, message: Message): void {
  readMessages.set(k.message(threadId, message.id), message)
}

const charsOf = (m: Message) => m.content.reduce((n, part) => n + (part.type === 'text' ? part.text.value.length : 64), 16)

/**
 * The thread's messages a prompt can use, oldest first: the first message (`auto` truncation keeps
 * it when it fits) and the most recent ones, read newest-first page by page until the budget is
 * surely covered. Cost follows the budget, not the thread's length.
 */
export async function loadHistory(
  redis: RedisClient,
  k: Keys,
  threadId: string,
  opts: {
    lastMessages: number | null
    budgetTokens: number
    known?: Message | undefined
    /**
     * The first page's ids (newest first, up to HISTORY_PAGE), read by the write that added message
     * `newest` (startTurn-7.lua returns them): used instead of reading it again if `newest` heads it
     * (else read again: the write failed, or something was added after it).
     */
    firstPage?: { ids: Promise<string[]>; newest: string }
  },
): Promise<Message[]> {
  const index = k.messages(threadId)
  const { known } = opts
  const early = opts.firstPage ? await opts.firstPage.ids.catch(() => null) : null
  const firstPage = early && early[0] === opts.firstPage?.newest ? early : null
  const read = async (ids: string[]) => {
    // The message the caller has just stored (a turn's user message) is not read back: one HGETALL
    // fewer per turn (issue 14). Its id still comes from the index, so a message deleted meanwhile
    // is left out as before; messages' content never changes after creation. Final messages read
    // before come from this process's cache (message-cache.ts): a long thread's turn reads its index.
    const byId = new Map<string, Message>()
    const unread: string[] = []
    for (const id of ids) {
      if (id === known?.id) continue
      const cached = readMessages.get(k.message(threadId, id))
      if (cached) byId.set(id, cached)
      else unread.push(id)
    }
    if (unread.length > 0) {
      const pipeline = redis.pipeline()
      for (const id of unread) pipeline.hgetall(k.message(threadId, id))
      const replies = (await pipeline.exec()) ?? []
      for (const [, raw] of replies) {
        const fields = raw as Record<string, string>
        if (!fields || Object.keys(fields).length === 0) continue
        const m = Message.parse(decodeFields(fields))
        byId.set(m.id, m)
        readMessages.set(k.message(threadId, m.id), m)
      }
    }
    if (known) byId.set(known.id, known)
    // A loop, not flatMap: V8's generic flatMap costs ~0.2 µs per id (issue 14), and this runs on
    // every page of every turn's history.
    const out: Message[] = []
    for (const id of ids) {
      const m = byId.get(id)
      if (m) out.push(m)
    }
    return out
  }

  if (opts.lastMessages !== null) {
    const ids = firstPage && opts.lastMessages <= PAGE ? firstPage.slice(0, opts.lastMessages) : await redis.zrevrange(index, 0, opts.lastMessages - 1)
    return (await read(ids)).reverse()
  }

  const recent: Message[] = []
  let chars = 0
  let readAll = false
  for (let start = 0; ; start += PAGE) {
    const ids = start === 0 && firstPage ? firstPage : await redis.zrevrange(index, start, start + PAGE - 1)
    const page = await read(ids)
    recent.push(...page)
    chars += page.reduce((n, m) => n + charsOf(m), 0)
    readAll = ids.length < PAGE
    if (readAll || chars / CHARS_PER_TOKEN > opts.budgetTokens) break
  }
  recent.reverse()
  // A short thread was read whole, first message included: no extra round trip before the model call.
  if (readAll) return recent
  const [firstId] = await redis.zrange(index, 0, 0)
  if (firstId && recent[0]?.id !== firstId) {
    const [first] = await read([firstId])
    if (first) recent.unshift(first)
  }
  return recent
}
