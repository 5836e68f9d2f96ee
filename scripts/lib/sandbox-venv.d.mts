/** The Python the venv is built from: SANDBOX_PYTHON, else /usr/bin/python3, else `python3` on PATH; null if none has venv. */
export function findPython(env?: NodeJS.ProcessEnv): string | null;
/** Whether bubblewrap is installed. */
export function hasBwrap(): boolean;
/** True when `venvDir` holds the current requirements. */
export function venvIsCurrent(root: string, venvDir: string): boolean;
/** Makes sure the venv exists and is current; installs it (minutes, the first time) if not. */
export function ensureSandboxVenv(opts: {
    root: string;
    venvDir?: string;
    env?: NodeJS.ProcessEnv;
    onProgress?: (line: string) => void;
    lockTimeoutMs?: number;
}): Promise<{ ok: true; venvDir: string; installed: boolean } | { ok: false; reason: string }>;
