/**
 * Builds the services with turbo (cached, so a no-op when nothing changed).
 * @param {string} root
 * @param {NodeJS.ProcessEnv} env
 */
export function buildServices(root: string, env: NodeJS.ProcessEnv): void;
/**
 * @param {{
 *   root: string,
 *   argv?: string[],
 *   env?: NodeJS.ProcessEnv,
 *   signals?: NodeJS.EventEmitter,
 *   write?: (text: string, stream: 'stdout' | 'stderr') => void,
 *   redisPort?: number,
 *   graceMs?: number,
 *   build?: typeof buildServices,
 *   resolve?: typeof resolveRedis,
 *   sandbox?: typeof prepareEmbeddedSandbox,
 * }} opts
 * @returns {Promise<number>} the process exit code
 */
export function runLauncher({ root, argv, env, signals, write, redisPort, graceMs, build, resolve, sandbox, }: {
    root: string;
    argv?: string[];
    env?: NodeJS.ProcessEnv;
    signals?: NodeJS.EventEmitter;
    write?: (text: string, stream: "stdout" | "stderr") => void;
    redisPort?: number;
    graceMs?: number;
    build?: typeof buildServices;
    resolve?: typeof resolveRedis;
    sandbox?: typeof prepareEmbeddedSandbox;
}): Promise<number>;
/** The services `pnpm start` runs, in start order. Each is `node services/<name>/dist/index.js`. */
export const SERVICES: readonly ["api", "worker", "webhooks"];
export function redactUrl(url: string): string;
import { resolveRedis } from './embedded-redis.mjs';
import { prepareEmbeddedSandbox } from './embedded-sandbox.mjs';
