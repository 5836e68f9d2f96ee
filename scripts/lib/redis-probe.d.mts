/**
 * Sends `PING` and returns the first reply line (`+PONG`, `-NOAUTH Authentication required.`, …),
 * or `null` when nothing answered within `timeoutMs` (refused, closed, silent, unreachable).
 * @param {{ host?: string, port?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<string | null>}
 */
export function probeRedisReply({ host, port, timeoutMs }?: {
    host?: string;
    port?: number;
    timeoutMs?: number;
}): Promise<string | null>;
/**
 * True only when the server answered `PING` with `+PONG`.
 * @param {{ host?: string, port?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<boolean>}
 */
export function probeRedis(opts?: {
    host?: string;
    port?: number;
    timeoutMs?: number;
}): Promise<boolean>;
