/**
 * Synthetic text for the retrieval and ingestion benches: a 4,000-word vocabulary of made-up
 * words drawn with a Zipf-like skew, sentences of 6–22 words, paragraphs of 3–7 sentences. One
 * generator per seed, so each bench's sequence is the same run after run whatever ran before it.
 */
export function syntheticText(seed = 42) {
  let state = seed
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state / 2 ** 32
  }
  const word = () => VOCAB[Math.floor(VOCAB.length * random() ** 2.5)]!
  const sentence = () => {
    const n = 6 + Math.floor(random() * 17)
    const words = Array.from({ length: n }, word)
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1)
    return `${words.join(' ')}.`
  }
  /** Paragraphs until at least `bytes` characters (ASCII: bytes of UTF-8). */
  const textOf = (bytes: number): string => {
    const parts: string[] = []
    let size = 0
    while (size < bytes) {
      const paragraph = Array.from({ length: 3 + Math.floor(random() * 5) }, sentence).join(' ')
      parts.push(paragraph)
      size += paragraph.length + 2
    }
    return parts.join('\n\n')
  }
  return { random, sentence, textOf }
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'or', 'ni', 'des', 'pra', 'gul', 'fen', 'to', 'bri', 'an']
const VOCAB = Array.from({ length: 4000 }, (_, i) => {
  let w = ''
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length]
  return w
})
