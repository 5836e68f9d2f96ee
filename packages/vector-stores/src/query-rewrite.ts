/** Words that carry no topic: dropped when a query is rewritten for search. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my of on or ' +
    'our please should so tell than that the their them then there these they this to us was we were what when where which ' +
    'who whom why will with would you your about any some find show give list explain describe'
  ).split(' '),
)

/**
 * `rewrite_query: true`: a keyword form of a natural-language query (lower case, punctuation and
 * stop words dropped: "What is the return policy?" → "return policy"). OpenAI rewrites with a
 * model; this rewrite is lexical, deterministic and free. A query of nothing but stop words is kept.
 */
export function rewriteQuery(query: string): string {
  const words = query
    .toLowerCase()
    .split(/[^\p{L}\p{N}_-]+/u)
    .filter(Boolean)
  const kept = words.filter((w) => !STOP_WORDS.has(w))
  return (kept.length ? kept : words).join(' ') || query
}
