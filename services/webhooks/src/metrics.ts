import { type Server, createServer } from 'node:http'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * The dispatcher's Prometheus metrics, served on `METRICS_PORT` when set:
 * `threadwork_webhook_attempts_total{outcome}` (delivered, retry, disable, give_up) and
 * `threadwork_webhook_attempt_duration_seconds{outcome}`. Queue depth and age of the
 * `webhooks-{sN}` queues come from the API's `/metrics` (computed from Redis).
 */
export function createWebhookMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'threadwork_webhooks_' })
  const attempts = new Counter({
    name: 'threadwork_webhook_attempts_total',
    help: 'Webhook delivery attempts, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'threadwork_webhook_attempt_duration_seconds',
    help: 'Time of one delivery attempt (connect to response), by outcome.',
    labelNames: ['outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [registry],
  })
  return {
    registry,
    onAttempt(a: { outcome: string; latencyMs: number }): void {
      attempts.inc({ outcome: a.outcome })
      latency.observe({ outcome: a.outcome }, a.latencyMs / 1000)
    },
    async serve(port: number, host = '0.0.0.0'): Promise<Server> {
      const server = createServer((req, res) => {
        if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
          registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
            () => res.writeHead(500).end(),
          )
        } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      })
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => resolve())
      })
      return server
    },
  }
}
