// @ts-check
/**
 * Is a Redis server answering on host:port? One TCP connect, one `PING`, a hard timeout.
 * No client library: the launcher must work before (and without) anything else is installed.
 */
import net from 'node:net'

/**
 * Sends `PING` and returns the first reply line (`+PONG`, `-NOAUTH Authentication required.`, …),
 * or `null` when nothing answered within `timeoutMs` (refused, closed, silent, unreachable).
 * @param {{ host?: string, port?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<string | null>}
 */
export function probeRedisReply({ host = '127.0.0.1', port = 6379, timeoutMs = 500 } = {}) {
  return new Promise((resolve) => {
    let settled = false
    let received = ''
    const socket = net.createConnection({ host, port })
    const finish = (/** @type {string | null} */ reply) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(reply)
    }
    // One deadline for connect + reply: a half-open port must not stall the launcher.
    const timer = setTimeout(() => finish(null), timeoutMs)
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'))
    socket.on('data', (chunk) => {
      received += chunk
      const end = received.indexOf('\r\n')
      if (end >= 0) finish(received.slice(0, end))
      else if (received.length > 512) finish(received.slice(0, 512)) // not RESP: report what we saw
    })
    socket.on('error', () => finish(null))
    socket.on('close', () => finish(null))
  })
}

/**
 * True only when the server answered `PING` with `+PONG`.
 * @param {{ host?: string, port?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<boolean>}
 */
export async function probeRedis(opts) {
  return (await probeRedisReply(opts)) === '+PONG'
}
