import type { Cluster, Redis } from 'ioredis'
import appendMessages from './lua/appendMessages-2.lua'
import createThread from './lua/createThread-2.lua'
import deleteIndexed from './lua/deleteIndexed-3.lua'
import deleteThread from './lua/deleteThread-1.lua'
import insertObject from './lua/insertObject-3.lua'
import listPage from './lua/listPage-2.lua'
import updateObject from './lua/updateObject-2.lua'

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
} as const

const defined = new WeakMap<object, Set<string>>()

/** Runs `s` with the given keys and args on `redis` (or a pipeline created from it). */
export function runScript<T = unknown>(redis: RedisClient, s: LuaScript, keys: string[], args: (string | number)[]): Promise<T> {
  let names = defined.get(redis)
  if (!names) defined.set(redis, (names = new Set()))
  if (!names.has(s.name)) {
    redis.defineCommand(s.name, { lua: s.lua })
    names.add(s.name)
  }
  const command = (redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[s.name]!
  return command.call(redis, keys.length, ...keys, ...args)
}
