/**
 * The Python the venv is built from: SANDBOX_PYTHON, else Debian's /usr/bin/python3 (readable by
 * the sandbox's unprivileged uids, unlike a pyenv under /root), else `python3` on PATH.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string | null}
 */
export function findPython(env?: NodeJS.ProcessEnv): string | null;
/**
 * True when `venvDir` holds the current requirements (its marker matches requirements.txt).
 * @param {string} root
 * @param {string} venvDir
 */
export function venvIsCurrent(root: string, venvDir: string): boolean;
/**
 * Makes sure the venv exists and is current; installs it (minutes, the first time) if not. Safe
 * to call from several processes at once: one installs, the others wait for its lock.
 * @param {{ root: string, venvDir?: string, env?: NodeJS.ProcessEnv, onProgress?: (line: string) => void, lockTimeoutMs?: number }} opts
 * @returns {Promise<{ ok: true, venvDir: string, installed: boolean } | { ok: false, reason: string }>}
 */
export function ensureSandboxVenv({ root, venvDir, env, onProgress, lockTimeoutMs }: {
    root: string;
    venvDir?: string;
    env?: NodeJS.ProcessEnv;
    onProgress?: (line: string) => void;
    lockTimeoutMs?: number;
}): Promise<{
    ok: true;
    venvDir: string;
    installed: boolean;
} | {
    ok: false;
    reason: string;
}>;
export function hasBwrap(): boolean;
