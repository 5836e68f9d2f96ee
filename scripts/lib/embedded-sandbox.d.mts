/**
 * @param {{ root: string, env: NodeJS.ProcessEnv, log: (message: string) => void }} opts
 * @returns {Promise<{ process: { name: string, command: string, args: string[] }, env: Record<string, string> } | null>}
 *   the process to supervise and the variables every service gets (the worker needs the token), or null
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
} | null>;
