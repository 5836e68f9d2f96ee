import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Structured JSON logs. Secrets are redacted by path wherever they might appear; message content is
 * never logged at info (callers log ids, not bodies).
 */
export function createLogger(opts: { service: string; level?: string }): Logger {
  return pino({
    name: opts.service,
    level: opts.level ?? 'info',
    base: { service: opts.service },
    redact: {
      paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'apiKey', '*.apiKey', 'secret', '*.secret', 'signing_secret', '*.signing_secret'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  })
}

export { serveMetrics, type ScrapeSource } from './metrics-server.js'
