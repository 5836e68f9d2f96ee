import { type Server, createServer, maxHeaderSize } from 'node:http'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import type { App } from './app.js'
import { type FastPathDeps, withFastPath } from './fast-path/fast-path.js'

/**
 * The API's HTTP server: `app` through @hono/node-server, as its `serve` builds it (`hostname`: the
 * Host of a request that names none), with the fast path in front unless `fastPath: false`.
 */
export function createApiServer(app: App, deps: FastPathDeps, hostname?: string, opts: { fastPath?: boolean } = {}): Server {
  const generic = getRequestListener(app.fetch, { hostname })
  const server = createServer(opts.fastPath === false ? generic : withFastPath(deps, generic))
  server.on('clientError', answerClientError)
  return server
}

/**
 * What Node refuses before any route sees the request, answered with the status Node's own handler
 * gives (431 headers too large, 408 timed out, else 400) but with OpenAI's error body, which the
 * SDKs read into their error (Node's own answer has no body: "431 status code (no body)").
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: never write into a response already under way on this socket (it would
  // corrupt what the peer reads); then there is nothing to answer, only to close.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy()
    return
  }
  const [status, reason, message, code] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', `Request header fields too large: the request line and headers may take at most ${maxHeaderSize} bytes.`, 'request_header_fields_too_large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request was not received in time.', 'request_timeout']
        : [400, 'Bad Request', 'The request is not valid HTTP/1.1.', 'invalid_http_request']
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } })
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}
