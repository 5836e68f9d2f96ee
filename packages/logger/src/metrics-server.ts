import { type Server, createServer } from 'node:http'

/** What a Prometheus registry (prom-client's `Registry`) offers for scraping. */
export interface ScrapeSource {
  metrics(): Promise<string>
  readonly contentType: string
}

/**
 * Serves `GET /metrics` from `source` on `port` (0 = any free port) for a process without an HTTP
 * server of its own (worker, webhooks); resolves once listening. Logs and metrics are this
 * package's two observability outputs.
 */
export async function serveMetrics(source: ScrapeSource, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      source.metrics().then(
        (text) => res.writeHead(200, { 'content-type': source.contentType }).end(text),
        () => res.writeHead(500).end(),
      )
    } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
