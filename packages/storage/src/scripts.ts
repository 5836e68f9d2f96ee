import { createHash } from 'node:crypto'
import { Cluster, Command, Redis } from 'ioredis'
import appendMessages from './lua/appendMessages-2.lua'
import createThread from './lua/createThread-2.lua'
import deleteIndexed from './lua/deleteIndexed-3.lua'
import deleteThread from './lua/deleteThread-1.lua'
import insertObject from './lua/insertObject-3.lua'
import listPage from './lua/listPage-2.lua'
import updateObject from './lua/updateObject-2.lua'
import addUploadPart from './lua/addUploadPart-2.lua'
import beginUploadComplete from './lua/beginUploadComplete-2.lua'
import cancelUpload from './lua/cancelUpload-1.lua'
import deleteFile from './lua/deleteFile-2.lua'
import finishUpload from './lua/finishUpload-5.lua'
import insertFile from './lua/insertFile-4.lua'
import listFiles from './lua/listFiles-1.lua'
import appendLiveEvents from './lua/appendLiveEvents-1.lua'
import replaceIfEqual from './lua/replaceIfEqual-1.lua'

export type RedisClient = Redis | Cluster

/** A Lua script; it runs with EVALSHA, and with EVAL the first time on each connection. */
export interface LuaScript {
  readonly name: string
  readonly lua: string
  /** Its SHA1 (what EVALSHA names). */
  readonly sha: string
  /** The connections (sockets) it has been sent to with EVAL, so Redis has it cached. */
  readonly loaded: WeakSet<object>
}

export const script = (name: string, lua: string): LuaScript => ({
  name: `tw_${name}`,
  lua,
  sha: createHash('sha1').update(lua).digest('hex'),
  loaded: new WeakSet(),
})

export const scripts = {
  insertObject: script('insertObject', insertObject),
  createThread: script('createThread', createThread),
  appendMessages: script('appendMessages', appendMessages),
  updateObject: script('updateObject', updateObject),
  listPage: script('listPage', listPage),
  deleteIndexed: script('deleteIndexed', deleteIndexed),
  deleteThread: script('deleteThread', deleteThread),
  insertFile: script('insertFile', insertFile),
  deleteFile: script('deleteFile', deleteFile),
  listFiles: script('listFiles', listFiles),
  addUploadPart: script('addUploadPart', addUploadPart),
  beginUploadComplete: script('beginUploadComplete', beginUploadComplete),
  finishUpload: script('finishUpload', finishUpload),
  cancelUpload: script('cancelUpload', cancelUpload),
  appendLiveEvents: script('appendLiveEvents', appendLiveEvents),
  replaceIfEqual: script('replaceIfEqual', replaceIfEqual),
} as const

const defined = new WeakMap<object, Set<string>>()

/** Defines `s` on `redis` (once), so pipelines and MULTIs created from it afterwards can run it. */
export function defineScript(redis: RedisClient, s: LuaScript): void {
  let names = defined.get(redis)
  if (!names) defined.set(redis, (names = new Set()))
  if (!names.has(s.name)) {
    redis.defineCommand(s.name, { lua: s.lua })
    names.add(s.name)
  }
}

/**
 * Runs `s` with the given keys and args on `redis` (or a pipeline created from it). Returns its
 * reply (strings decoded as UTF-8); rejects with Redis' error.
 *
 * On a connection or Cluster the command is built here rather than by ioredis' `defineCommand`
 * function, whose path copies the arguments three times and flattens them with
 * `Array.prototype.flat`, a generic builtin at ~0.1 µs per element in V8 (a terminal commit has
 * ~100 arguments: ~10–15 µs, and the worker's profile showed ioredis' `Command` at ~4 % of its busy
 * time; issue 14). What goes over the wire is what ioredis sends: EVAL the first time on each
 * connection (socket), EVALSHA after, and on NOSCRIPT (a script cache flushed under a live
 * connection) the same command again, as EVAL (ioredis' `Script`, 5.9.2). Pipelines and MULTIs keep
 * ioredis' own path: its `exec` loads the scripts they name first.
 */
export function runScript<T = unknown>(redis: RedisClient, s: LuaScript, keys: string[], args: (string | number)[]): Promise<T> {
  // A client with ioredis' own `keyPrefix` (none of ours) would have it applied by the defined command.
  if ((redis instanceof Redis || redis instanceof Cluster) && !redis.options.keyPrefix) return sendScript<T>(redis, s, keys, args)
  return viaDefinedCommand<T>(redis, s, keys, args)
}

function viaDefinedCommand<T>(redis: RedisClient, s: LuaScript, keys: readonly string[], args: readonly unknown[]): Promise<T> {
  defineScript(redis, s)
  const command = (redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[s.name]!
  // `args` goes as one array (ioredis flattens it into the command): spread, a large one (a thread
  // created with thousands of messages, ~100k arguments) overflows the call stack.
  return command.call(redis, keys.length, ...keys, args)
}

function sendScript<T>(redis: Redis | Cluster, s: LuaScript, keys: readonly string[], args: readonly unknown[]): Promise<T> {
  // As strings, as ioredis' `toArg` makes them (it converts a command's arguments when it is
  // built, before ours are set); anything else (a Buffer) takes ioredis' own path.
  const argv: string[] = [s.sha, String(keys.length)]
  for (const key of keys) argv.push(key)
  for (const arg of args) {
    if (typeof arg === 'string') argv.push(arg)
    else if (typeof arg === 'number') argv.push(String(arg))
    else if (arg == null) argv.push('')
    else return viaDefinedCommand<T>(redis, s, keys, args)
  }
  const command = new ScriptCommand(s, argv)
  const sent = redis.sendCommand(command as Command) as Promise<T>
  return sent.catch((err: Error) => {
    if (!String(err?.message).includes('NOSCRIPT')) throw err
    return redis.sendCommand(new ScriptCommand(s, argv.slice()) as Command) as Promise<T>
  })
}

/**
 * EVALSHA of a `LuaScript`, turned into an EVAL when written to a connection that has not had the
 * script yet (ioredis' `Script` command does the same). Its arguments are set after `super`, which
 * would flatten them (see `runScript`); they are flat already.
 */
class ScriptCommand extends Command {
  constructor(
    private readonly lua: LuaScript,
    argv: string[],
  ) {
    super('evalsha', [], { replyEncoding: 'utf8' })
    this.args = argv
  }

  override toWritable(socket: object): string | Buffer {
    const s = this.lua
    const reject = this.reject
    this.reject = (err: Error) => {
      if (String(err?.message).includes('NOSCRIPT')) s.loaded.delete(socket)
      reject.call(this, err)
    }
    if (!s.loaded.has(socket)) {
      s.loaded.add(socket)
      this.name = 'eval'
      this.args[0] = s.lua
    } else if (this.name === 'eval') {
      this.name = 'evalsha'
      this.args[0] = s.sha
    }
    return super.toWritable(socket as never)
  }
}
