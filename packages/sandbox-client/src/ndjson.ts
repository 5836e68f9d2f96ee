/**
 * Lines of a newline-delimited JSON body, as they arrive. A line longer than `maxLineBytes`
 * (a broken or hostile peer) ends the stream with an error instead of growing without bound.
 */
export async function* readNdjson(reader: ReadableStreamDefaultReader<Uint8Array>, maxLineBytes = 512 * 1024 * 1024): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (line.trim() !== '') yield line
      newline = buffer.indexOf('\n')
    }
    if (buffer.length > maxLineBytes) throw new Error(`line longer than ${maxLineBytes} bytes`)
  }
  buffer += decoder.decode()
  if (buffer.trim() !== '') yield buffer
}
