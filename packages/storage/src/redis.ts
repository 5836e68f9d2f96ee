import { Cluster, type ClusterNode, Redis, type RedisOptions as IORedisOptions } from 'ioredis'
import { coalesceWrites } from './coalesce-writes.js'
import type { RedisClient } from './scripts.js'

export interface RedisOptions {
  /**
   * `request`: an HTTP request path — fail fast while Redis is down so the API answers 503 at once
   * instead of hanging (BullMQ production notes). `worker`: block and retry forever, as BullMQ
   * requires (`maxRetriesPerRequest: null`).
   */
  role: 'request' | 'worker'
  name?: string
  /**
   * Commands issued together (one callback and its promise continuations) leave in one syscall
   * (coalesce-writes.ts). For the plain command connections; never a blocking one (BullMQ workers,
   * XREAD(GROUP) BLOCK readers, subscribers).
   */
  coalesceWrites?: boolean
}

/** Where Redis is: one server (`url`), or a Redis Cluster (`clusterNodes`, seeds; `url` then only supplies credentials/TLS). */
export interface RedisTarget {
  url: string
  /** `host:port` seed nodes of a Redis Cluster; empty or absent: a single server at `url`. */
  clusterNodes?: readonly string[]
}

const connectionOptions = ({ role, name }: RedisOptions) =>
  ({
    connectionName: name,
    lazyConnect: false,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    // Reconnect quickly after a restart: 50 ms, 100 ms, … capped at 2 s.
    retryStrategy: (times: number) => Math.min(times * 50, 2000),
  }) satisfies IORedisOptions

export function createRedis(url: string, opts: RedisOptions): Redis {
  const redis = new Redis(url, connectionOptions(opts))
  if (opts.coalesceWrites) coalesceWrites(redis)
  return redis
}

/** Parses `host:port` seeds (`REDIS_CLUSTER_NODES`); throws a one-line message on a bad entry. */
export function parseClusterNodes(raw: string | readonly string[] | undefined): ClusterNode[] {
  const entries = (typeof raw === 'string' ? raw.split(',') : (raw ?? [])).map((s) => s.trim()).filter(Boolean)
  return entries.map((entry) => {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry)
    if (!m) throw new Error(`cluster node "${entry}" is not host:port`)
    return { host: m[1]!, port: Number(m[2]) }
  })
}

/**
 * A connection to a single Redis, or an ioredis `Cluster` when `target.clusterNodes` lists seeds.
 * Credentials and TLS (`rediss:`) come from `target.url` in both cases. Every key we and BullMQ
 * use is hash-tagged, so each command and script stays in one slot (keys.ts); BullMQ takes the
 * `Cluster` as its `connection` as it is.
 */
export function createRedisClient(target: RedisTarget, opts: RedisOptions): RedisClient {
  const nodes = parseClusterNodes(target.clusterNodes)
  if (nodes.length === 0) return createRedis(target.url, opts)
  const url = new URL(target.url)
  const base = connectionOptions(opts)
  const cluster = new Cluster(nodes, {
    // Fail fast for requests while the cluster is unreachable, exactly as a single connection does.
    enableOfflineQueue: base.enableOfflineQueue,
    clusterRetryStrategy: base.retryStrategy,
    // BullMQ reads maxRetriesPerRequest from here for a Cluster.
    redisOptions: {
      ...base,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
    },
    // Moved slots after a failover or resharding are followed; scripts are retried on the new owner.
    maxRedirections: 16,
    slotsRefreshTimeout: 2000,
  })
  if (opts.coalesceWrites) coalesceWrites(cluster)
  return cluster
}

/** The masters of a Cluster, or the one server: commands that act per node (SCAN, INFO, WAITAOF). */
export function redisNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis as Redis]
}

/** Resolves once the connection is ready (rejects after `timeoutMs`). */
export async function waitReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Redis not ready after ${timeoutMs} ms`))
    }, timeoutMs)
    const onReady = () => {
      cleanup()
      resolve()
    }
    const cleanup = () => {
      clearTimeout(timer)
      redis.off('ready', onReady)
    }
    redis.on('ready', onReady)
  })
}
