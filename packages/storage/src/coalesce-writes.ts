import { Cluster, type Redis } from 'ioredis'
import type { RedisClient } from './scripts.js'

interface Corkable {
  write: (...args: never[]) => boolean
  cork(): void
  uncork(): void
}

/** Sockets already coalescing (a reconnect makes a new one; a socket is hooked once). */
const hooked = new WeakSet<object>()

/**
 * Makes the commands a connection writes in one go leave in one `writev` syscall instead of one
 * `write` each (issue 14: a worker profile put ~20 % of its busy time in socket writes, one per
 * Redis command). The socket is corked at the first write and uncorked on `process.nextTick`: after
 * the current callback and every promise continuation it set off, so the commands a batch of
 * replies sets off go together, and a lone command waits for no other I/O (a `setImmediate` flush,
 * as ioredis' auto-pipelining uses, waits for the rest of the poll phase).
 *
 * Only the bytes' departure changes: ioredis sends, orders, routes (Cluster), retries and resends
 * each command exactly as before. Why not ioredis' `enableAutoPipelining` (tried, broke the bench):
 * a script defined after the tick's auto-pipeline was opened is missing from it, so its call fails
 * and every later caller in that pipeline gets the next command's reply, the last none (ioredis
 * 5.9.2, redis/ioredis#1931; `runScript` defines each of our scripts on first use); on a Cluster it
 * groups commands by the slot of their first argument, which for our scripts is the key count
 * (redis/ioredis#2109); it holds a pipeline's replies until all have come and sends one pipeline
 * at a time per connection; a MULTI or explicit pipeline overtakes commands issued before it.
 *
 * For plain command connections: a blocking connection has one command at a time, nothing to gain.
 * Cluster: each node's connection coalesces on its own, nodes added later included.
 */
export function coalesceWrites(client: RedisClient): void {
  if (hooked.has(client)) return
  hooked.add(client)
  if (client instanceof Cluster) {
    client.on('+node', (node: Redis) => coalesceWrites(node))
    for (const node of client.nodes('all')) coalesceWrites(node)
    return
  }
  const hook = () => {
    if (client.stream) corkUntilNextTick(client.stream as unknown as Corkable)
  }
  // Each (re)connect makes a new socket; the handshake's few writes may go out before the hook.
  client.on('connect', hook)
  hook()
}

function corkUntilNextTick(socket: Corkable): void {
  if (hooked.has(socket)) return
  hooked.add(socket)
  const write = socket.write
  let corked = false
  const flush = () => {
    corked = false
    socket.uncork()
  }
  socket.write = function (this: Corkable, ...args: never[]) {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(flush)
    }
    return write.apply(this, args)
  } as Corkable['write']
}
