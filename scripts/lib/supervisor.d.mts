/**
 * @typedef {{ name: string, command: string, args: string[] }} ProcessSpec
 * @typedef {{ code: number, failed: string | null }} SupervisorResult
 *   `failed` names the child whose unexpected exit brought everything down, or null after stop().
 */
/**
 * @param {{
 *   processes: ProcessSpec[],
 *   env?: NodeJS.ProcessEnv,
 *   cwd?: string,
 *   graceMs?: number,
 *   write?: (text: string, stream: 'stdout' | 'stderr') => void,
 *   log?: (message: string) => void,
 * }} opts
 */
export function superviseProcesses({ processes, env, cwd, graceMs, write, log, }: {
    processes: ProcessSpec[];
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    graceMs?: number;
    write?: (text: string, stream: "stdout" | "stderr") => void;
    log?: (message: string) => void;
}): {
    done: Promise<SupervisorResult>;
    /** Names of children still running. */
    running: () => string[];
    /**
     * Starts one more child into the unit (same env, cwd and lifetime rules), e.g. a service whose
     * setup finished after the others started. False, and nothing started, once stopping or done.
     */
    add(spec: ProcessSpec): boolean;
    /** Graceful stop; a second call escalates to SIGKILL. */
    stop(): Promise<SupervisorResult>;
    /**
     * Signals every live child synchronously; for `process.on('exit')` when the launcher dies
     * without an orderly stop. SIGTERM by default so orphaned services still drain their jobs.
     */
    signalAll(signal?: NodeJS.Signals): void;
};
export type ProcessSpec = {
    name: string;
    command: string;
    args: string[];
};
/**
 * `failed` names the child whose unexpected exit brought everything down, or null after stop().
 */
export type SupervisorResult = {
    code: number;
    failed: string | null;
};
