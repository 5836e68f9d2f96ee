import type { Server } from 'node:http'
import { serveMetrics } from '@threadwork/logger'
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
    /** Serves `GET /metrics` on `port` (0 = any free port); resolves with the server. */
    serve: (port: number, host?: string): Promise<Server> => serveMetrics(registry, port, host),
  }
}
