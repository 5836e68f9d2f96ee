/**
 * Lines of a newline-delimited JSON body, as they arrive. A newline is searched for in each new
 * chunk only, so a long line (base64 files) costs linear time. A line longer than `maxLineBytes`
 * (a broken or hostile peer) ends the stream with an error instead of growing without bound.
 */
export async function* readNdjson(reader: ReadableStreamDefaultReader<Uint8Array>, maxLineBytes = 512 * 1024 * 1024): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let parts: string[] = []
  let pending = 0
  for (;;) {
    const { done, value } = await reader.read()
    const chunk = done ? decoder.decode() : decoder.decode(value, { stream: true })
    let start = 0
    let nl = chunk.indexOf('\n')
    while (nl >= 0) {
      parts.push(chunk.slice(start, nl))
      const line = parts.join('')
      parts = []
      pending = 0
      if (line.trim() !== '') yield line
      start = nl + 1
      nl = chunk.indexOf('\n', start)
    }
    if (start < chunk.length) {
      parts.push(chunk.slice(start))
      pending += chunk.length - start
    }
    if (pending > maxLineBytes) throw new Error(`line longer than ${maxLineBytes} bytes`)
    if (done) break
  }
  const rest = parts.join('')
  if (rest.trim() !== '') yield rest
}
