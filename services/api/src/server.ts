import { type Server, createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import type { App } from './app.js'
import { type FastPathDeps, withFastPath } from './fast-path/fast-path.js'

/**
 * The API's HTTP server: `app` through @hono/node-server, as its `serve` builds it (`hostname`: the
 * Host of a request that names none), with the fast path in front unless `fastPath: false`.
 */
export function createApiServer(app: App, deps: FastPathDeps, hostname?: string, opts: { fastPath?: boolean } = {}): Server {
  const generic = getRequestListener(app.fetch, { hostname })
  return createServer(opts.fastPath === false ? generic : withFastPath(deps, generic))
}
