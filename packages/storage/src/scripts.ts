import type { Cluster, Redis } from 'ioredis'
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

export type RedisClient = Redis | Cluster

/** A Lua script; ioredis runs it with EVALSHA and falls back to EVAL once per connection. */
export interface LuaScript {
  readonly name: string
  readonly lua: string
}

export const script = (name: string, lua: string): LuaScript => ({ name: `tw_${name}`, lua })

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

/** Runs `s` with the given keys and args on `redis` (or a pipeline created from it). */
export function runScript<T = unknown>(redis: RedisClient, s: LuaScript, keys: string[], args: (string | number)[]): Promise<T> {
  defineScript(redis, s)
  const command = (redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[s.name]!
  return command.call(redis, keys.length, ...keys, ...args)
}
