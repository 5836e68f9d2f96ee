import type { Logger } from '@threadwork/logger'

/** What every handler can read from `c.var`. */
export type AppEnv = {
  Variables: {
    requestId: string
    /** The project the request's API key belongs to. */
    project: string
    /** The service's logger (request-log.ts); lines about a request carry its `requestId`. */
    log: Logger
  }
}
