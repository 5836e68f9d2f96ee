/**
 * @param {string} prefix e.g. `[api] `
 * @param {(text: string) => void} write receives whole, prefixed, `\n`-terminated lines
 * @returns {{ push(chunk: string | Buffer): void, flush(): void }}
 */
export function createLinePrefixer(prefix: string, write: (text: string) => void): {
    push(chunk: string | Buffer): void;
    flush(): void;
};
