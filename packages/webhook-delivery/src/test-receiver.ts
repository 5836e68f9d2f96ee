import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { onTestFinished } from 'vitest'

/** A received request, with its body read in full. */
export type Received = { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/**
 * Test-only: a `node:http` receiver on 127.0.0.1 with a random port, closed when the test ends.
 * `handler` answers each request; every request is also recorded in `received`.
 */
export async function startReceiver(handler: (req: Received, res: ServerResponse) => void) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(entry)
      handler(entry, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { port, received, url: (path = '/hook', host = '127.0.0.1') => `http://${host}:${port}${path}` }
}
