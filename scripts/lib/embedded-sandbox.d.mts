/**
 * @param {{ root: string, env: NodeJS.ProcessEnv, log: (message: string) => void }} opts
 * @returns {Promise<{ process: { name: string, command: string, args: string[] }, env: Record<string, string>, ready: Promise<void> } | null>}
 *   the process to supervise once `ready` resolves (the environment installed, or found impossible:
 *   never rejects) and the variables every service gets (the worker needs the token), or null
 */
export function prepareEmbeddedSandbox({ root, env, log }: {
    root: string;
    env: NodeJS.ProcessEnv;
    log: (message: string) => void;
}): Promise<{
    process: {
        name: string;
        command: string;
        args: string[];
    };
    env: Record<string, string>;
    ready: Promise<void>;
} | null>;
