/**
 * `redis-server` arguments for the embedded development Redis. Mirrors infra/redis.conf on the
 * settings BullMQ depends on: AOF fsynced on every write (`always`: Debian's Redis 7.0 has no
 * WAITAOF, and a development box writes little, so the API's 2xx can honestly mean "on disk" and
 * it has nothing to warn about), and `noeviction`,
 * the only policy under which BullMQ's queues stay correct. RDB snapshots are off (`save ""`):
 * the AOF is the persistence.
 * @param {{ port: number, dir: string }} opts
 * @returns {string[]}
 */
export function embeddedRedisArgs({ port, dir }: {
    port: number;
    dir: string;
}): string[];
/**
 * The absolute path of an executable on PATH, or null.
 * @param {string} name
 * @param {string | undefined} [pathEnv]
 */
export function findOnPath(name: string, pathEnv?: string | undefined): string | null;
/**
 * @typedef {object} EmbeddedRedis
 * @property {string} url
 * @property {import('node:child_process').ChildProcess} child
 * @property {Promise<void>} exited resolves when the server process has exited
 * @property {(timeoutMs?: number) => Promise<void>} stop SIGTERM (Redis fsyncs the AOF and exits), SIGKILL after timeoutMs
 */
/**
 * Starts `redis-server` and resolves once it answers PING. Rejects (and kills it) if it exits
 * first, e.g. because the port is taken, or is not ready within `readyTimeoutMs`.
 * The child gets its own process group (`detached`) so a terminal Ctrl-C reaches only the
 * launcher, which stops Redis last, after the services have drained.
 * @param {{ bin?: string, port: number, dir: string, readyTimeoutMs?: number, onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void }} opts
 * @returns {Promise<EmbeddedRedis>}
 */
export function startEmbeddedRedis({ bin, port, dir, readyTimeoutMs, onOutput }: {
    bin?: string;
    port: number;
    dir: string;
    readyTimeoutMs?: number;
    onOutput?: (chunk: Buffer, stream: "stdout" | "stderr") => void;
}): Promise<EmbeddedRedis>;
/**
 * @typedef {{ url: string, source: 'env' | 'local' | 'embedded', embedded?: EmbeddedRedis }} ResolvedRedis
 */
/**
 * Decides which Redis the services use (see the module comment). Dependencies are injectable so
 * each branch can be tested without touching port 6379.
 * @param {{
 *   env: Record<string, string | undefined>,
 *   dataDir: string,
 *   port?: number,
 *   probe?: typeof probeRedisReply,
 *   findBinary?: typeof findOnPath,
 *   startEmbedded?: typeof startEmbeddedRedis,
 *   onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void,
 * }} opts
 * @returns {Promise<ResolvedRedis>}
 */
export function resolveRedis({ env, dataDir, port, probe, findBinary, startEmbedded, onOutput, }: {
    env: Record<string, string | undefined>;
    dataDir: string;
    port?: number;
    probe?: typeof probeRedisReply;
    findBinary?: typeof findOnPath;
    startEmbedded?: typeof startEmbeddedRedis;
    onOutput?: (chunk: Buffer, stream: "stdout" | "stderr") => void;
}): Promise<ResolvedRedis>;
/** A failure the launcher reports as one human message (no stack trace) and exit 1. */
export class LauncherError extends Error {
}
export const REDIS_HOWTO: string;
export type EmbeddedRedis = {
    url: string;
    child: import("node:child_process").ChildProcess;
    /**
     * resolves when the server process has exited
     */
    exited: Promise<void>;
    /**
     * SIGTERM (Redis fsyncs the AOF and exits), SIGKILL after timeoutMs
     */
    stop: (timeoutMs?: number) => Promise<void>;
};
export type ResolvedRedis = {
    url: string;
    source: "env" | "local" | "embedded";
    embedded?: EmbeddedRedis;
};
import { probeRedisReply } from './redis-probe.mjs';
