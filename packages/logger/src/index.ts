import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Structured JSON logs. Secrets are redacted by path wherever they might appear; message content is
 * never logged at info (callers log ids, not bodies).
 */
export function createLogger(opts: {
  service: string
  level?: string
  bufferMs?: number
  /** Where the lines go instead of stdout (tests read the service's own lines through it). */
  destination?: pino.DestinationStream
}): Logger {
  // Buffered: lines go out in writes of ≥ 4 KB or every `bufferMs`, and at exit (pino flushes its
  // own destinations synchronously then). Unbuffered, every line is its own write handed to libuv's
  // thread pool: the API's one access-log line per request was ~16 % of its busy time (issue 14,
  // profiled). A SIGKILL loses up to `bufferMs` of lines.
  const destination = opts.destination ?? (opts.bufferMs ? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: opts.bufferMs }) : undefined)
  return pino(
    {
      name: opts.service,
      level: opts.level ?? 'info',
      base: { service: opts.service },
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'req.headers.authorization',
          'apiKey',
          '*.apiKey',
          'secret',
          '*.secret',
          'signing_secret',
          '*.signing_secret',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  )
}

export { serveMetrics, type ScrapeSource } from './metrics-server.js'
